//! Connection profiles: what to connect to and how, saved as RON files in the platform's
//! config folder.
//!
//! - [`Profile`] is one profile, as the user edits it (strings as typed, so a half-typed
//!   value can be kept); [`Profile::to_connect_options`] checks it and turns it into
//!   [`ws_tokio::ConnectOptions`], with errors in plain words.
//! - [`ProfileStore`] is the folder of profiles: one `<name>.ron` file each, written
//!   atomically (a temporary file, fsync, rename). A file that cannot be parsed is moved aside
//!   to `<file>.corrupt-<unix seconds>` and reported in [`problems`](ProfileStore::problems),
//!   never overwritten and never deleted. The first run (an empty folder) gets the built-in
//!   "Local echo" profile and the examples shipped in `assets/profiles/`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use directories::ProjectDirs;
use serde::{Deserialize, Serialize};
use ws_proto::http::{HeaderName, HeaderValue};
use ws_tokio::proxy::ProxyTarget;
use ws_tokio::{ConnectOptions, Proxy, TlsOptions};

/// The environment variable that replaces the whole config folder (profiles then live in
/// `$WS_INSPECTOR_CONFIG_DIR/profiles`).
pub const CONFIG_DIR_ENV: &str = "WS_INSPECTOR_CONFIG_DIR";

/// The profiles written into an empty folder: file name and contents, shipped in
/// `assets/profiles/`.
const EXAMPLES: [(&str, &str); 3] = [
    (
        "local-echo.ron",
        include_str!("../../assets/profiles/local-echo.ron"),
    ),
    (
        "secure-echo-example.ron",
        include_str!("../../assets/profiles/secure-echo-example.ron"),
    ),
    (
        "through-proxy-example.ron",
        include_str!("../../assets/profiles/through-proxy-example.ron"),
    ),
];

/// The first line of every profile file written.
const FILE_HEADER: &str = "// A ws-inspector connection profile (RON). Edit it in the app, \
                           or here while the app is closed.\n";

/// The name [`ProfileStore::create`] starts from.
const NEW_PROFILE: &str = "New profile";

// ---------------------------------------------------------------------------------------------
// Profile
// ---------------------------------------------------------------------------------------------

/// One connection profile. Every field has a default, so a file may list only some of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// The name shown in the sidebar; unique in a [`ProfileStore`] (ignoring case). Empty in
    /// a file: the file's name is used.
    pub name: String,
    /// The `ws://` or `wss://` URL.
    pub url: String,
    /// Start the built-in echo server and connect to it (the URL's address is replaced by the
    /// server's).
    pub local_echo: bool,
    /// Extra request headers; only the enabled rows with a name are sent.
    pub headers: Vec<HeaderRow>,
    /// The `Origin` header; empty for none.
    pub origin: String,
    /// Subprotocols to offer, comma-separated, most preferred first.
    pub subprotocols: String,
    /// A PEM file of extra CA certificates to trust; empty for none.
    pub ca_file: String,
    /// A PEM file with the client certificate chain; empty for none.
    pub client_cert_file: String,
    /// A PEM file with the client certificate's private key; empty: the key is in
    /// `client_cert_file`.
    pub client_key_file: String,
    /// Accept any server certificate (testing only).
    pub accept_invalid_certs: bool,
    /// An `http://` proxy URL, `env` for the proxy environment variables, or empty for none.
    pub proxy: String,
    /// Seconds allowed for TCP (and the proxy's CONNECT).
    pub connect_timeout_secs: f32,
    /// Seconds allowed for the TLS handshake.
    pub tls_timeout_secs: f32,
    /// Seconds allowed for the opening handshake.
    pub handshake_timeout_secs: f32,
    /// Seconds allowed for the close handshake.
    pub close_timeout_secs: f32,
    /// Answer pings automatically.
    pub auto_pong: bool,
    /// The largest message (and frame) accepted, in bytes.
    pub max_message_size: usize,
    /// Offer permessage-deflate (RFC 7692) in the upgrade request, as browsers do.
    ///
    /// Off by default, and for profiles saved before the option existed (a missing field
    /// takes the default): the frame log shows payloads as they are on the wire, and a
    /// compressed payload is not readable there, so compression is something to ask for
    /// when it is what you are inspecting.
    pub offer_compression: bool,
}

impl Default for Profile {
    /// No name, `ws://127.0.0.1:9002/`, 10 s timeouts, auto-pong on, 16 MiB messages, no
    /// compression offered.
    fn default() -> Self {
        Self {
            name: String::new(),
            url: "ws://127.0.0.1:9002/".to_owned(),
            local_echo: false,
            headers: Vec::new(),
            origin: String::new(),
            subprotocols: String::new(),
            ca_file: String::new(),
            client_cert_file: String::new(),
            client_key_file: String::new(),
            accept_invalid_certs: false,
            proxy: String::new(),
            connect_timeout_secs: 10.0,
            tls_timeout_secs: 10.0,
            handshake_timeout_secs: 10.0,
            close_timeout_secs: 10.0,
            auto_pong: true,
            max_message_size: 16 << 20,
            offer_compression: false,
        }
    }
}

impl Profile {
    /// The built-in profile that connects to the in-process echo server.
    pub fn local_echo() -> Self {
        Self {
            name: "Local echo".to_owned(),
            local_echo: true,
            ..Self::default()
        }
    }

    /// Checks the profile and builds the options to connect with, to `url_override` if
    /// given (the local echo server's address, or a `--connect` URL) or else to
    /// [`url`](Self::url). Every error is a sentence that says which field is wrong.
    pub fn to_connect_options(&self, url_override: Option<&str>) -> Result<ConnectOptions, String> {
        let url = check_url(url_override.unwrap_or(&self.url))?;
        let mut options = ConnectOptions::new(url);

        for row in &self.headers {
            let name = row.name.trim();
            if !row.enabled || name.is_empty() {
                continue;
            }
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!(
                    "the header name {name:?} is not valid: use letters, digits and - only"
                ));
            }
            let value = row.value.trim();
            if HeaderValue::from_str(value).is_err() {
                return Err(format!(
                    "the value of the header {name} is not valid: it may not contain line \
                     breaks or other control characters"
                ));
            }
            options
                .request
                .headers
                .push((name.to_owned(), value.to_owned()));
        }
        let origin = self.origin.trim();
        if !origin.is_empty() {
            options.request.origin = Some(origin.to_owned());
        }
        options.request.protocols = self
            .subprotocols
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();

        let ca_file = self.ca_file.trim();
        if !ca_file.is_empty() {
            options.tls.add_ca_file(ca_file).map_err(plain)?;
        }
        let (cert, key) = (self.client_cert_file.trim(), self.client_key_file.trim());
        match (cert.is_empty(), key.is_empty()) {
            (true, true) => {}
            (true, false) => {
                return Err(
                    "a client key file is set but no client certificate file: set both, or \
                     clear the key file"
                        .to_owned(),
                );
            }
            // The key may be in the certificate's file.
            (false, _) => {
                let key = if key.is_empty() { cert } else { key };
                options.tls.client_certificate =
                    Some(TlsOptions::client_certificate_files(cert, key).map_err(plain)?);
            }
        }
        options.tls.accept_invalid_certificates = self.accept_invalid_certs;

        let proxy = self.proxy.trim();
        options.proxy = if proxy.is_empty() || proxy.eq_ignore_ascii_case("none") {
            Proxy::None
        } else if proxy.eq_ignore_ascii_case("env") {
            Proxy::FromEnv
        } else {
            ProxyTarget::from_url(proxy).map_err(plain)?;
            Proxy::Url(proxy.to_owned())
        };

        options.timeouts.connect = seconds(self.connect_timeout_secs, "connect")?;
        options.timeouts.tls = seconds(self.tls_timeout_secs, "TLS")?;
        options.timeouts.handshake = seconds(self.handshake_timeout_secs, "handshake")?;
        options.timeouts.close = seconds(self.close_timeout_secs, "close")?;

        if self.max_message_size == 0 {
            return Err("the maximum message size must be at least 1 byte".to_owned());
        }
        options.config.auto_pong = self.auto_pong;
        // The browser-like offer: permessage-deflate with client_max_window_bits.
        options.config.deflate = self
            .offer_compression
            .then(ws_tokio::ws_proto::DeflateConfig::default);
        options.config.max_message_size = self.max_message_size;
        // A single-frame message is a frame: the user's limit is for both.
        options.config.max_frame_size = self.max_message_size;

        // Everything else the request needs (host, port, header combinations) is checked by
        // building it once.
        options.build_request().map_err(plain)?;
        Ok(options)
    }
}

/// One extra request header, with an on/off toggle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeaderRow {
    /// Whether the header is sent.
    pub enabled: bool,
    /// The header name.
    pub name: String,
    /// The header value.
    pub value: String,
}

impl Default for HeaderRow {
    /// An enabled row with no name (not sent until it has one).
    fn default() -> Self {
        Self {
            enabled: true,
            name: String::new(),
            value: String::new(),
        }
    }
}

/// The URL, trimmed, if it is a `ws://` or `wss://` URL; the rest of it is checked when the
/// request is built.
fn check_url(url: &str) -> Result<&str, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("enter a ws:// or wss:// URL".to_owned());
    }
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("ws" | "wss") => Ok(url),
        Some("http") => Err(format!(
            "{url} is an http:// URL: WebSocket URLs start with ws:// (write ws:// instead of \
             http://)"
        )),
        Some("https") => Err(format!(
            "{url} is an https:// URL: WebSocket URLs start with wss:// (write wss:// instead \
             of https://)"
        )),
        Some(other) => Err(format!(
            "{url} is not a WebSocket URL: it must start with ws:// or wss://, not {other}://"
        )),
        None => Err(format!(
            "{url} is not a WebSocket URL: it must start with ws:// or wss://"
        )),
    }
}

/// A timeout from the seconds the user typed.
fn seconds(value: f32, what: &str) -> Result<Duration, String> {
    if !(value.is_finite() && value > 0.0) {
        return Err(format!(
            "the {what} timeout must be a number of seconds above 0, not {value}"
        ));
    }
    Duration::try_from_secs_f32(value)
        .map_err(|_| format!("the {what} timeout of {value} seconds is too long"))
}

/// A ws-tokio configuration error without its "invalid options: " prefix.
fn plain(error: ws_tokio::Error) -> String {
    let text = error.to_string();
    match text.strip_prefix("invalid options: ") {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

// ---------------------------------------------------------------------------------------------
// The folder of profiles
// ---------------------------------------------------------------------------------------------

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
            empty = false;
            let Ok(entry) = entry else { continue };
            let path = entry.path();
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

    /// Writes the profile named `name` to `path` (atomically, replacing any file there).
    pub fn export(&self, name: &str, path: &Path) -> Result<(), String> {
        let position = self.position(name)?;
        write_atomic(path, &to_ron(&self.profiles[position])?)
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

    fn move_aside(&mut self, path: PathBuf, shown: &str, reason: &str) {
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
        match fs::rename(&path, path.with_file_name(&aside)) {
            Ok(()) => self.problems.push(format!(
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
fn file_stem(name: &str) -> String {
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
fn to_ron(profile: &Profile) -> Result<String, String> {
    let config = ron::ser::PrettyConfig::new().struct_names(true);
    let body = ron::ser::to_string_pretty(profile, config)
        .map_err(|e| format!("could not write the profile {:?} as RON: {e}", profile.name))?;
    Ok(format!("{FILE_HEADER}{body}\n"))
}

/// `line 3, column 5: Expected …`.
fn describe_ron_error(error: &ron::error::SpannedError) -> String {
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

/// Removes a file; one that is already gone is fine.
fn remove_file(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A fresh folder under the system temp folder, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "ws-inspector-profiles-{}-{name}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            Self(path)
        }

        fn profiles(&self) -> PathBuf {
            self.0.join("profiles")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn names(store: &ProfileStore) -> Vec<&str> {
        store.profiles().iter().map(|p| p.name.as_str()).collect()
    }

    /// A folder with one profile file, so that it is not seeded.
    fn store_with(tmp: &TempDir, profile: &Profile) -> ProfileStore {
        let dir = tmp.profiles();
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("first.ron"), to_ron(profile).unwrap()).unwrap();
        ProfileStore::open(dir)
    }

    fn sample() -> Profile {
        Profile {
            name: "Sample".into(),
            url: "wss://example.com/chat?room=1".into(),
            headers: vec![
                HeaderRow {
                    enabled: true,
                    name: "Authorization".into(),
                    value: "Bearer abc".into(),
                },
                HeaderRow {
                    enabled: false,
                    name: "X-Off".into(),
                    value: "1".into(),
                },
            ],
            origin: "https://example.com".into(),
            subprotocols: "chat, superchat".into(),
            proxy: "env".into(),
            connect_timeout_secs: 2.5,
            auto_pong: false,
            max_message_size: 1234,
            ..Profile::default()
        }
    }

    // --- profile ------------------------------------------------------------------------------

    #[test]
    fn defaults() {
        let profile = Profile::default();
        assert_eq!(profile.url, "ws://127.0.0.1:9002/");
        assert_eq!(profile.connect_timeout_secs, 10.0);
        assert_eq!(profile.close_timeout_secs, 10.0);
        assert!(profile.auto_pong);
        assert_eq!(profile.max_message_size, 16 * 1024 * 1024);
        assert!(!profile.offer_compression);
        // A profile saved before the option existed loads with it off.
        let old: Profile = ron::from_str("(name: \"Old\", auto_pong: false)").unwrap();
        assert!(!old.offer_compression && !old.auto_pong);
        let offered = Profile {
            offer_compression: true,
            ..Profile::default()
        };
        let options = offered.to_connect_options(None).unwrap();
        assert_eq!(
            options.config.deflate,
            Some(ws_tokio::ws_proto::DeflateConfig::default())
        );
        assert_eq!(
            Profile::default()
                .to_connect_options(None)
                .unwrap()
                .config
                .deflate,
            None
        );
        let echo = Profile::local_echo();
        assert_eq!((echo.name.as_str(), echo.local_echo), ("Local echo", true));
        // Every field may be missing from a file.
        assert_eq!(ron::from_str::<Profile>("()").unwrap(), Profile::default());
        let row: HeaderRow = ron::from_str("(name: \"A\")").unwrap();
        assert!(row.enabled);
    }

    #[test]
    fn ron_round_trip() {
        let profile = sample();
        let text = to_ron(&profile).unwrap();
        assert!(text.starts_with("// A ws-inspector connection profile"));
        assert!(text.contains("Profile("), "{text}");
        assert_eq!(ron::from_str::<Profile>(&text).unwrap(), profile);
        // Unknown fields (from a newer version) are ignored.
        let newer: Profile = ron::from_str("(name: \"x\", colour: 3)").unwrap();
        assert_eq!(newer.name, "x");
        // A wrong type is an error with its position.
        let err = ron::from_str::<Profile>("(\n  name: 3)").unwrap_err();
        assert!(
            describe_ron_error(&err).starts_with("line 2, column "),
            "{err}"
        );
    }

    #[test]
    fn shipped_examples_parse() {
        for (file, text) in EXAMPLES {
            let profile: Profile = ron::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(format!("{}.ron", file_stem(&profile.name)), file);
            assert!(profile.to_connect_options(None).is_ok(), "{file}");
        }
        let local: Profile = ron::from_str(EXAMPLES[0].1).unwrap();
        assert_eq!(local, Profile::local_echo());
        let secure: Profile = ron::from_str(EXAMPLES[1].1).unwrap();
        assert!(secure.url.starts_with("wss://") && secure.name.contains("example"));
        assert_eq!(secure.headers.len(), 2);
        assert!(!secure.subprotocols.is_empty());
        let proxy: Profile = ron::from_str(EXAMPLES[2].1).unwrap();
        assert!(proxy.proxy.starts_with("http://") && proxy.name.contains("example"));
    }

    // --- connect options ----------------------------------------------------------------------

    #[test]
    fn connect_options_from_a_profile() {
        let options = sample().to_connect_options(None).unwrap();
        assert_eq!(options.url, "wss://example.com/chat?room=1");
        assert_eq!(
            options.request.headers,
            [("Authorization".to_owned(), "Bearer abc".to_owned())]
        );
        assert_eq!(
            options.request.origin.as_deref(),
            Some("https://example.com")
        );
        assert_eq!(options.request.protocols, ["chat", "superchat"]);
        assert_eq!(options.proxy, Proxy::FromEnv);
        assert_eq!(options.timeouts.connect, Duration::from_millis(2500));
        assert_eq!(options.timeouts.tls, Duration::from_secs(10));
        assert!(!options.config.auto_pong);
        assert_eq!(options.config.max_message_size, 1234);
        assert_eq!(options.config.max_frame_size, 1234);
        assert!(!options.tls.accept_invalid_certificates);
        assert!(options.tls.client_certificate.is_none());
        assert!(options.tls.extra_ca_pem.is_empty());

        let defaults = Profile::default().to_connect_options(None).unwrap();
        assert!(defaults.request.headers.is_empty());
        assert!(defaults.request.protocols.is_empty());
        assert_eq!(defaults.request.origin, None);
        assert_eq!(defaults.proxy, Proxy::None);
        assert!(defaults.config.auto_pong);
    }

    #[test]
    fn connect_options_headers_on_and_off() {
        let mut profile = sample();
        profile.headers[0].enabled = false;
        profile.headers[1].enabled = true;
        profile.headers.push(HeaderRow::default()); // a blank row is skipped
        profile.headers.push(HeaderRow {
            enabled: true,
            name: " X-Padded ".into(),
            value: " v ".into(),
        });
        let options = profile.to_connect_options(None).unwrap();
        assert_eq!(
            options.request.headers,
            [
                ("X-Off".to_owned(), "1".to_owned()),
                ("X-Padded".to_owned(), "v".to_owned())
            ]
        );
        profile.headers.push(HeaderRow {
            enabled: true,
            name: "Bad Name".into(),
            value: "v".into(),
        });
        let err = profile.to_connect_options(None).unwrap_err();
        assert!(err.contains("\"Bad Name\" is not valid"), "{err}");
        profile.headers.pop();
        profile.headers.push(HeaderRow {
            enabled: true,
            name: "X-Bad".into(),
            value: "a\nb".into(),
        });
        let err = profile.to_connect_options(None).unwrap_err();
        assert!(err.contains("header X-Bad"), "{err}");
    }

    #[test]
    fn connect_options_subprotocols() {
        let profile = Profile {
            subprotocols: " v2.chat ,, v1.chat, ".into(),
            ..Profile::default()
        };
        let options = profile.to_connect_options(None).unwrap();
        assert_eq!(options.request.protocols, ["v2.chat", "v1.chat"]);
    }

    #[test]
    fn connect_options_proxy_forms() {
        let proxy = |text: &str| {
            Profile {
                proxy: text.into(),
                ..Profile::default()
            }
            .to_connect_options(None)
        };
        assert_eq!(proxy("").unwrap().proxy, Proxy::None);
        assert_eq!(proxy("  ").unwrap().proxy, Proxy::None);
        assert_eq!(proxy("none").unwrap().proxy, Proxy::None);
        assert_eq!(proxy("ENV").unwrap().proxy, Proxy::FromEnv);
        assert_eq!(
            proxy("http://user:pw@proxy.local:3128").unwrap().proxy,
            Proxy::Url("http://user:pw@proxy.local:3128".into())
        );
        assert_eq!(
            proxy("proxy.local:8080").unwrap().proxy,
            Proxy::Url("proxy.local:8080".into())
        );
        let err = proxy("socks5://proxy.local:1080").unwrap_err();
        assert!(err.contains("SOCKS proxies are not supported"), "{err}");
        let err = proxy("https://proxy.local").unwrap_err();
        assert!(err.contains("HTTPS proxies are not supported"), "{err}");
        assert!(!err.starts_with("invalid options"), "{err}");
    }

    #[test]
    fn connect_options_urls() {
        let url = |text: &str| {
            Profile {
                url: text.into(),
                ..Profile::default()
            }
            .to_connect_options(None)
        };
        assert_eq!(url(" wss://a.example/x ").unwrap().url, "wss://a.example/x");
        assert_eq!(url("WS://a.example").unwrap().url, "WS://a.example");
        assert_eq!(url("").unwrap_err(), "enter a ws:// or wss:// URL");
        let err = url("http://a.example/").unwrap_err();
        assert!(err.contains("write ws:// instead of http://"), "{err}");
        let err = url("https://a.example/").unwrap_err();
        assert!(err.contains("write wss:// instead of https://"), "{err}");
        let err = url("ftp://a.example/").unwrap_err();
        assert!(err.contains("not ftp://"), "{err}");
        let err = url("a.example:9000").unwrap_err();
        assert!(err.contains("must start with ws:// or wss://"), "{err}");
        let err = url("ws://").unwrap_err();
        assert!(err.contains("URL"), "{err}");
        // The override wins over the profile's URL.
        let options = Profile {
            url: "nonsense".into(),
            ..Profile::local_echo()
        }
        .to_connect_options(Some("ws://127.0.0.1:40000/"))
        .unwrap();
        assert_eq!(options.url, "ws://127.0.0.1:40000/");
    }

    #[test]
    fn connect_options_tls_files() {
        let tmp = TempDir::new("tls");
        fs::create_dir_all(&tmp.0).unwrap();
        let missing = tmp.0.join("missing-ca.pem");
        let err = Profile {
            ca_file: missing.display().to_string(),
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap_err();
        assert!(
            err.contains("CA file") && err.contains("missing-ca.pem"),
            "{err}"
        );

        let not_pem = tmp.0.join("not.pem");
        fs::write(&not_pem, "hello").unwrap();
        let err = Profile {
            ca_file: not_pem.display().to_string(),
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap_err();
        assert!(err.contains("not.pem"), "{err}");

        let err = Profile {
            client_cert_file: missing.display().to_string(),
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap_err();
        assert!(
            err.contains("client certificate file") && err.contains("missing-ca.pem"),
            "{err}"
        );

        let err = Profile {
            client_key_file: "key.pem".into(),
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap_err();
        assert!(err.contains("no client certificate file"), "{err}");

        let options = Profile {
            accept_invalid_certs: true,
            ..Profile::default()
        }
        .to_connect_options(None)
        .unwrap();
        assert!(options.tls.accept_invalid_certificates);
    }

    #[test]
    fn connect_options_limits() {
        let with = |f: fn(&mut Profile)| {
            let mut profile = Profile::default();
            f(&mut profile);
            profile.to_connect_options(None)
        };
        let err = with(|p| p.tls_timeout_secs = 0.0).unwrap_err();
        assert!(err.contains("TLS timeout"), "{err}");
        let err = with(|p| p.close_timeout_secs = f32::NAN).unwrap_err();
        assert!(err.contains("close timeout"), "{err}");
        let err = with(|p| p.handshake_timeout_secs = -1.0).unwrap_err();
        assert!(err.contains("handshake timeout"), "{err}");
        let err = with(|p| p.connect_timeout_secs = f32::MAX).unwrap_err();
        assert!(err.contains("too long"), "{err}");
        let err = with(|p| p.max_message_size = 0).unwrap_err();
        assert!(err.contains("at least 1 byte"), "{err}");
    }

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
}
