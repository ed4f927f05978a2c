//! The eframe app: one persisted state struct ([`Settings`]), the tabs (one connection
//! each), and the layout of the window.
//!
//! ```text
//! ┌ tabs ─────────────────────────────────────────────────────────────────┐
//! │ profiles │ URL [……………………] Connect  Close…  (1 OPEN)                     │
//! │ sidebar  │ connected since … · ⬆ frames · ⬇ frames · readyState 0 → 1   │
//! │          ├── frame log (filter, table) ──────────────┬ Handshake│Options│
//! │          ├── payload detail (text / JSON / hex) ─────┤                   │
//! │          ├── composer ───────────────────────────────┤                   │
//! └ status ───────────────────────────────────────────────────────────────┘
//! ```
//! Everything the UI does to a connection goes through [`Session`]; nothing here awaits.

use std::path::{Path, PathBuf};

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};
use serde::{Deserialize, Serialize};
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::{CloseCode, ReadyState};

use ws_inspector_core::Notify;
use ws_inspector_core::capture::OpenedCapture;
use ws_inspector_core::capture::merge::save_sessions;
use ws_inspector_core::capture::playback::{Replay, ServedScript};
use ws_inspector_core::decode::speaker::encode_for_sending;
use ws_inspector_core::profiles::{Profile, ProfileStore, ServerKind};
use ws_inspector_core::session::{Net, Session, SessionOptions, SessionState};
use ws_inspector_core::workflow::reconnect::Reconnector;

use crate::cli::Args;
use crate::views::capture::{
    CaptureAction, CaptureRow, CaptureSource, LineAction, MenuChoice, RowKind, capture_line_ui,
    file_menu_ui,
};
use crate::views::composer::Composer;
use crate::views::connection_bar::{BarAction, ConnectionBar};
use crate::views::frame_log::{FrameLogView, LogAction, LogSettings};
use crate::views::graphs::graphs_ui;
use crate::views::handshake::HandshakeView;
use crate::views::listener::ListenTab;
use crate::views::opening::{Opened, Opening, opens_in_background};
use crate::views::options::{FileField, OptionsAction, OptionsView};
use crate::views::playback::{PlaybackAction, PlaybackForm, PlaybackKind, replay_line_ui};
use crate::views::relay::RelayTab;
use crate::views::saved::{SavedCx, TabWorkflow, apply_saved_action};
use crate::views::server_tab::ServerTab;
use crate::views::sidebar::{Sidebar, SidebarAction, file_name_for};
use crate::views::{Palette, format_bytes, format_count, plural};

/// Which view the right-hand inspector panel shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InspectorTab {
    /// The opening handshake.
    #[default]
    Handshake,
    /// The connection options (the profile).
    Options,
    /// Messages and bytes per second, ping round trips, message sizes.
    Graphs,
    /// Saved messages (the profile's and the library), periodic sends, variables.
    Saved,
}

/// Everything remembered between runs (eframe's storage, like egui's demo app).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Dark, light, or following the system.
    pub theme: egui::ThemePreference,
    /// Show the profiles sidebar.
    pub show_sidebar: bool,
    /// Show the handshake / options panel.
    pub show_inspector: bool,
    /// Which of the two it shows.
    pub inspector_tab: InspectorTab,
    /// Log filter and display settings, for new tabs.
    pub log: LogSettings,
    /// The composer: draft and history of sent messages.
    pub composer: Composer,
    /// Handshake view settings.
    pub handshake: HandshakeView,
    /// The close code and reason last used in the Close menu.
    pub close: ConnectionBar,
    /// The profile of the last active tab.
    pub last_profile: Option<String>,
    /// The tabs open when the app was last closed, restored (not connected) at start.
    pub tabs: Vec<SavedTab>,
    /// Which of them was active.
    pub active_tab: usize,
}

/// A tab as it is remembered between runs: its working copy of the profile and its URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedTab {
    /// The working copy of the profile (with the user's unsaved edits).
    pub profile: Profile,
    /// The saved profile it came from.
    pub saved_as: Option<String>,
    /// The URL in the bar.
    pub url: String,
}

impl Default for SavedTab {
    fn default() -> Self {
        Self {
            profile: Profile::local_echo(),
            saved_as: None,
            url: String::new(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: egui::ThemePreference::System,
            show_sidebar: true,
            show_inspector: true,
            inspector_tab: InspectorTab::Handshake,
            log: LogSettings::default(),
            composer: Composer::default(),
            handshake: HandshakeView::default(),
            close: ConnectionBar::default(),
            last_profile: None,
            tabs: Vec::new(),
            active_tab: 0,
        }
    }
}

/// One tab: a profile being edited and the connection made with it.
#[derive(Debug)]
struct Tab {
    /// The working copy of the profile (the options panel edits it).
    profile: Profile,
    /// The name of the saved profile it came from, if any.
    saved_as: Option<String>,
    /// The URL in the bar (for a local-echo profile, the echo server's URL).
    url: String,
    session: Option<Session>,
    bar: ConnectionBar,
    log: FrameLogView,
    /// Saved messages, variables and periodic sends.
    workflow: TabWorkflow,
    /// Set for a tab opened from a capture file: read only (no connecting, no sending).
    capture: Option<CaptureSource>,
    /// Auto-reconnect: the attempt waiting for its time, and the count.
    reconnect: Reconnector,
    /// The replay this tab's session runs (a capture replayed), and the messages the
    /// capture sent compressed that could not be replayed.
    replay: Option<(Replay, usize)>,
    /// The composer's text encoded by the profile's decoder of sent messages.
    encoding: ComposerEncoding,
    /// The session's end has been handed to `reconnect` (once per connection).
    end_seen: bool,
}

impl Tab {
    /// Whether the tab shows a capture opened from a file.
    fn read_only(&self) -> bool {
        self.capture.is_some()
    }

    /// Whether its connection is under way (not for a capture: nothing happens there).
    fn live(&self) -> bool {
        !self.read_only()
            && self
                .session
                .as_ref()
                .is_some_and(|s| s.state().ready_state() != ReadyState::Closed)
    }
}

/// Whether the composer's text is encoded by the decoder of sent messages, and the ids of
/// the GraphQL subscribes made so.
#[derive(Debug, Default)]
struct ComposerEncoding {
    on: bool,
    ids: u64,
}

/// The inspector.
pub struct WsInspectorApp {
    settings: Settings,
    net: Net,
    profiles: ProfileStore,
    sidebar: Sidebar,
    options_view: OptionsView,
    tabs: Vec<Tab>,
    active: usize,
    /// The listen and relay tabs (not persisted: a listener is bound anew each time).
    servers: Vec<ServerTab>,
    /// The active listen or relay tab; `None`: the active connection tab.
    active_server: Option<usize>,
    persist: bool,
    /// A message for the status bar (error?, text).
    notice: Option<(bool, String)>,
    /// A file dialog to open once the frame is laid out.
    pending_dialog: Option<Dialog>,
    /// The file row of File → Open / Save / Record.
    capture_row: CaptureRow,
    /// A large capture being opened in the background.
    opening: Option<Opening>,
    /// The row that starts replaying or serving a capture.
    playback: Option<PlaybackForm>,
    /// The window's context, to wake it from background work.
    ctx: egui::Context,
    /// A tab whose open connection the user asked to close, waiting for confirmation.
    confirm_close: Option<usize>,
    /// The window title last set.
    title: String,
}

impl std::fmt::Debug for WsInspectorApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsInspectorApp")
            .field("tabs", &self.tabs.len())
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl WsInspectorApp {
    /// The app as the binary starts it: settings from eframe's storage, profiles from the
    /// platform config dir (or `--config-dir`), tabs from the command line.
    pub fn new(cc: &eframe::CreationContext<'_>, args: Args) -> std::io::Result<Self> {
        let settings: Settings = cc
            .storage
            .and_then(|storage| eframe::get_value(storage, eframe::APP_KEY))
            .unwrap_or_default();
        let dir = args
            .config_dir
            .clone()
            .unwrap_or_else(ProfileStore::default_dir);
        let mut app = Self::build(&cc.egui_ctx, settings, dir, true)?;
        app.open_from_args(&cc.egui_ctx, &args);
        Ok(app)
    }

    /// The app for tests: profiles in `config_dir`, default settings, nothing persisted, and
    /// one tab with the built-in "Local echo" profile, not connected.
    pub fn new_for_test(ctx: &egui::Context, config_dir: PathBuf) -> std::io::Result<Self> {
        let mut app = Self::build(ctx, Settings::default(), config_dir, false)?;
        app.settings.theme = egui::ThemePreference::Dark;
        ctx.set_theme(egui::ThemePreference::Dark);
        let profile = Profile::local_echo();
        app.tabs.clear();
        app.add_tab(profile, None);
        Ok(app)
    }

    /// The app for tests, started from `settings` as if they had been saved by a last run
    /// (its tabs come back, not connected); nothing is persisted.
    pub fn new_for_test_with(
        ctx: &egui::Context,
        config_dir: PathBuf,
        settings: Settings,
    ) -> std::io::Result<Self> {
        Self::build(ctx, settings, config_dir, false)
    }

    /// The app for tests, started with these command-line arguments (captures to open,
    /// `--connect`, `--record`…) on default settings, profiles in `config_dir`; nothing is
    /// persisted.
    pub fn new_for_test_with_args(
        ctx: &egui::Context,
        config_dir: PathBuf,
        args: &Args,
    ) -> std::io::Result<Self> {
        let mut app = Self::build(ctx, Settings::default(), config_dir, false)?;
        app.open_from_args(ctx, args);
        Ok(app)
    }

    fn build(
        ctx: &egui::Context,
        settings: Settings,
        config_dir: PathBuf,
        persist: bool,
    ) -> std::io::Result<Self> {
        let mut net = Net::new()?;
        // The built-in echo server: bound at start so that its URL is known; it costs a
        // listening socket and nothing else until someone connects.
        let echo_error = net.start_local_echo().err();
        let profiles = ProfileStore::open(config_dir);
        ctx.set_theme(settings.theme);
        install_style(ctx);
        let mut app = Self {
            settings,
            net,
            profiles,
            sidebar: Sidebar::default(),
            options_view: OptionsView::default(),
            tabs: Vec::new(),
            active: 0,
            servers: Vec::new(),
            active_server: None,
            persist,
            notice: echo_error.map(|e| (true, e)),
            pending_dialog: None,
            capture_row: CaptureRow::default(),
            opening: None,
            playback: None,
            ctx: ctx.clone(),
            confirm_close: None,
            title: String::new(),
        };
        let saved_tabs = std::mem::take(&mut app.settings.tabs);
        if !saved_tabs.is_empty() {
            // The tabs of the last run, as they were (not connected).
            for saved in saved_tabs {
                let i = app.add_tab(saved.profile, saved.saved_as);
                if !saved.url.is_empty() && !app.tabs[i].profile.local_echo {
                    app.tabs[i].url = saved.url;
                }
            }
            app.active = app.settings.active_tab.min(app.tabs.len() - 1);
            return Ok(app);
        }
        let first = app
            .settings
            .last_profile
            .as_deref()
            .and_then(|name| app.profiles.get(name))
            .or_else(|| app.profiles.profiles().iter().find(|p| p.local_echo))
            .or_else(|| app.profiles.profiles().first())
            .cloned();
        match first {
            Some(profile) => {
                let name = profile.name.clone();
                app.add_tab(profile, Some(name));
            }
            None => {
                app.add_tab(Profile::local_echo(), None);
            }
        }
        Ok(app)
    }

    /// Applies `--connect`, `--profile`, `--record` and the captures to open; with none,
    /// the first run connects to the local echo server so that it shows a live connection at
    /// once. Captures open after the connection, and the first of them is the active tab.
    fn open_from_args(&mut self, ctx: &egui::Context, args: &Args) {
        let first_run = self.settings.last_profile.is_none()
            && args.captures.is_empty()
            && args.listen.is_none()
            && args.relay.is_none();
        if !args.captures.is_empty() && args.profile.is_none() && args.connect.is_none() {
            self.tabs.clear();
        }
        if let Some(name) = &args.profile {
            match self.profiles.get(name).cloned() {
                Some(profile) => {
                    self.tabs.clear();
                    self.add_tab(profile, Some(name.clone()));
                    self.connect(ctx, 0);
                }
                None => {
                    self.notice = Some((true, format!("There is no profile named “{name}”.")));
                }
            }
        }
        if let Some(url) = &args.connect {
            let profile = Profile {
                name: host_of(url),
                url: url.clone(),
                local_echo: false,
                ..Profile::local_echo()
            };
            if args.profile.is_none() {
                self.tabs.clear();
            }
            let i = self.add_tab(profile, None);
            self.connect(ctx, i);
        }
        if args.profile.is_none()
            && args.connect.is_none()
            && first_run
            && let Some(i) = self.tabs.iter().position(|t| t.profile.local_echo)
        {
            self.active = i;
            self.connect(ctx, i);
        }
        if let Some(file) = &args.record {
            let recorded = self.active;
            let result = match self.tabs.get(recorded).and_then(|t| t.session.as_ref()) {
                Some(session) => session
                    .start_recording(file, false)
                    .map(|()| format!("Recording to {}.", file.display())),
                None => Err(format!(
                    "--record {}: no connection to record (use --connect or --profile)",
                    file.display()
                )),
            };
            self.notice = Some(match result {
                Ok(message) => (false, message),
                Err(e) => (true, e),
            });
        }
        let mut first_capture = None;
        for path in &args.captures {
            let before = self.tabs.len();
            let _ = self.open_capture_file(path);
            if self.tabs.len() > before {
                first_capture.get_or_insert(before);
            }
        }
        if self.tabs.is_empty() {
            self.add_tab(Profile::local_echo(), None);
        }
        if let Some(i) = first_capture {
            self.active = i;
        }
        if let Some(addr) = &args.listen {
            self.open_listener(ctx, addr);
        }
        if let Some((addr, upstream)) = &args.relay {
            self.open_relay(ctx, addr, upstream);
        }
    }

    /// Opens the capture at `path` in read-only tabs (one per connection; the first becomes
    /// active), as File → Open capture… does; the outcome shows in the status bar and is
    /// returned.
    pub fn open_capture_file(&mut self, path: &Path) -> Result<String, String> {
        let result = self.open_capture(path);
        self.notice = Some(match &result {
            Ok(message) => (false, message.clone()),
            Err(e) => (true, e.clone()),
        });
        result
    }

    fn open_capture(&mut self, path: &Path) -> Result<String, String> {
        let shown = path.display();
        let opened = ws_inspector_core::capture::open(path)
            .map_err(|e| format!("Could not open {shown}: {e}"))?;
        Ok(self.add_capture_tabs(path, opened))
    }

    /// Opens `path` on a thread of its own, with a progress row and Cancel (File → Open of
    /// a large file); small files open at once.
    fn open_capture_in_background(
        &mut self,
        ctx: &egui::Context,
        path: &Path,
    ) -> Result<String, String> {
        if self.opening.is_some() {
            return Err("Another capture is being opened: wait for it, or cancel it.".to_owned());
        }
        if !opens_in_background(path) {
            return self.open_capture(path);
        }
        let wake = ctx.clone();
        let opening = Opening::start(path, move || wake.request_repaint())
            .map_err(|e| format!("Could not open {}: {e}", path.display()))?;
        self.opening = Some(opening);
        Ok(format!("Opening {}…", path.display()))
    }

    /// The row that starts a replay or a served capture, and what it asks for.
    fn playback_ui(&mut self, ui: &mut Ui) {
        let Some(form) = &mut self.playback else {
            return;
        };
        let mut action = None;
        egui::Panel::top("capture-playback").show(ui, |ui| action = form.row_ui(ui));
        match action {
            Some(PlaybackAction::Start) => {
                let form = form.clone();
                let result = self.start_playback(ui.ctx(), &form);
                if result.is_ok() {
                    self.playback = None;
                }
                self.notice = Some(match result {
                    Ok(message) => (false, message),
                    Err(e) => (true, e),
                });
            }
            Some(PlaybackAction::Cancel) => self.playback = None,
            None => {}
        }
    }

    /// Replays the capture of tab `form.tab` to a URL in a new tab, or serves it in a new
    /// listen tab.
    fn start_playback(
        &mut self,
        ctx: &egui::Context,
        form: &PlaybackForm,
    ) -> Result<String, String> {
        let tab = self
            .tabs
            .get(form.tab)
            .filter(|t| t.read_only())
            .ok_or_else(|| "The capture's tab is gone.".to_owned())?;
        let source = tab
            .capture
            .as_ref()
            .map_or_else(String::new, CaptureSource::title);
        let session = tab
            .session
            .as_ref()
            .ok_or_else(|| "The capture's tab has no session.".to_owned())?;
        let lines = session.capture_lines()?;
        let (conn, leg) = lines
            .iter()
            .find(|l| !matches!(l.record, ws_inspector_core::capture::Record::Capture { .. }))
            .map_or((None, None), |l| (l.conn, l.leg));
        let script = ws_inspector_core::capture::script::script(&lines, conn, leg)?;
        let target = form.target.trim().to_owned();
        match form.kind {
            PlaybackKind::Replay => {
                // A saved profile's name replays with its options (headers, TLS, proxy…).
                let saved = self
                    .profiles
                    .profiles()
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(&target) && !p.local_echo)
                    .cloned();
                let profile = match saved {
                    Some(profile) => profile,
                    None => {
                        ws_inspector_core::url::check_url(&target)?;
                        Profile {
                            name: format!("Replay of {source}"),
                            url: target.clone(),
                            ..Profile::default()
                        }
                    }
                };
                let target = profile.url.clone();
                let mut options = profile.to_connect_options(Some(&target))?;
                if let Some(protocol) = &script.protocol {
                    options.request.protocols = vec![protocol.clone()];
                }
                let (session, replay) = ws_inspector_core::capture::playback::replay(
                    &self.net,
                    options,
                    &script,
                    form.timing_switch,
                    std::time::Duration::from_secs(5),
                    repaint(ctx),
                    None,
                );
                let i = self.add_tab(profile, None);
                let tab = &mut self.tabs[i];
                tab.url = target.clone();
                tab.session = Some(session);
                tab.replay = Some((replay, script.compressed_skipped));
                Ok(format!("Replaying {source} to {target}."))
            }
            PlaybackKind::Serve => {
                let served = ServedScript::new(&script, form.timing_switch, source.clone());
                let messages = served.cues.len();
                let tab = ListenTab::serving(&target, served, &self.net, repaint(ctx));
                self.servers.push(ServerTab::Listen(Box::new(tab)));
                self.active_server = Some(self.servers.len() - 1);
                Ok(format!(
                    "Serving {source} ({messages} messages to each client)."
                ))
            }
        }
    }

    /// The progress row of a capture being opened, and its outcome once it is read.
    fn opening_ui(&mut self, ui: &mut Ui) {
        let Some(opening) = &mut self.opening else {
            return;
        };
        if let Some(outcome) = opening.poll() {
            let path = opening.path.clone();
            self.opening = None;
            self.notice = Some(match outcome {
                Opened::Done(opened) => (false, self.add_capture_tabs(&path, opened)),
                Opened::Cancelled => (false, format!("Opening {} was cancelled.", path.display())),
                Opened::Failed(e) => (true, format!("Could not open {}: {e}", path.display())),
            });
            return;
        }
        let mut cancel = false;
        egui::Panel::top("capture-opening").show(ui, |ui| cancel = opening.row_ui(ui));
        if cancel {
            opening.cancel();
        }
    }

    /// A read-only tab for each connection of `opened` (read from `path`); the first
    /// becomes active. Returns what to tell the user.
    fn add_capture_tabs(&mut self, path: &Path, opened: OpenedCapture) -> String {
        let truncated = opened.truncated.as_ref().map(|e| {
            format!("{e} — cut short (a crash while recording?): left out, the rest is shown")
        });
        let count = opened.connections.len();
        let mut first = None;
        for connection in opened.connections {
            let source = CaptureSource {
                path: path.to_owned(),
                name: opened.name.clone(),
                label: connection.label(),
                generator: opened.generator.clone(),
                truncated: truncated.clone(),
            };
            let session = connection.into_session();
            let url = session.state().url.clone();
            let profile = Profile {
                name: source.title(),
                url: url.clone(),
                local_echo: false,
                ..Profile::local_echo()
            };
            let i = self.add_tab(profile, None);
            let tab = &mut self.tabs[i];
            tab.url = url;
            tab.session = Some(session);
            tab.capture = Some(source);
            first.get_or_insert(i);
        }
        if let Some(i) = first {
            self.active = i;
        }
        let tabs = if count == 1 {
            String::new()
        } else {
            format!(" in {count} tabs, one per connection")
        };
        match truncated {
            Some(t) => format!("Opened {}{tabs}; {t}.", opened.name),
            None => format!("Opened {}{tabs} (read only).", opened.name),
        }
    }

    /// Saves tab `i`'s session to `path` (`replace`: the user agreed to replace a file
    /// there).
    fn save_capture(&mut self, i: usize, path: &Path, replace: bool) -> Result<String, String> {
        if let Some(server) = self.active_server.and_then(|j| self.servers.get(j)) {
            let parts = server.capture_parts();
            let bytes = save_sessions(&parts, path, replace)?;
            return Ok(format!(
                "Saved {} to {} ({}).",
                plural(parts.len() as u64, "session", "sessions"),
                path.display(),
                format_bytes(bytes)
            ));
        }
        let session = self
            .tabs
            .get(i)
            .and_then(|t| t.session.as_ref())
            .ok_or_else(|| "This tab has no session to save: connect first.".to_owned())?;
        let bytes = session.save_capture(path, replace)?;
        Ok(format!(
            "Saved the capture to {} ({}).",
            path.display(),
            format_bytes(bytes)
        ))
    }

    /// Starts recording tab `i`'s session to `path`.
    fn record_capture(&mut self, i: usize, path: &Path, replace: bool) -> Result<String, String> {
        let session = self
            .tabs
            .get(i)
            .and_then(|t| t.session.as_ref())
            .ok_or_else(|| "This tab has no session to record: connect first.".to_owned())?;
        session.start_recording(path, replace)?;
        Ok(format!("Recording to {}.", path.display()))
    }

    /// Applies what the File menu, the file row or a tab's capture line asked for.
    fn capture_action(&mut self, action: CaptureAction) {
        let i = self.active;
        let result = match action {
            CaptureAction::Open(Some(path)) => {
                let ctx = self.ctx.clone();
                self.open_capture_in_background(&ctx, &path)
            }
            CaptureAction::Save(Some((path, replace))) => self.save_capture(i, &path, replace),
            CaptureAction::Record(Some((path, replace))) => self.record_capture(i, &path, replace),
            CaptureAction::Open(None) | CaptureAction::Save(None) | CaptureAction::Record(None) => {
                self.pending_dialog = Some(Dialog::Capture(action));
                return;
            }
        };
        self.capture_row.result(&result);
        self.notice = Some(match result {
            Ok(message) => (false, message),
            Err(e) => (true, e),
        });
    }

    /// Opens the file row for `kind`, with a path to start from.
    fn start_capture_row(&mut self, kind: RowKind) {
        let path = match kind {
            RowKind::Open => String::new(),
            RowKind::Save | RowKind::Record => {
                let server = self.active_server.and_then(|j| self.servers.get(j));
                let name = match server {
                    Some(server) => server.title(),
                    None => self
                        .tabs
                        .get(self.active)
                        .map_or_else(|| "capture".to_owned(), tab_title),
                };
                let file = format!("{}.jsonl", file_name_for(&name));
                match std::env::var_os("HOME") {
                    Some(home) => PathBuf::from(home).join(file).display().to_string(),
                    None => file,
                }
            }
        };
        self.capture_row.start(kind, path);
    }

    /// Opens the `.jsonl` and `.har` files dropped on the window.
    fn dropped_files(&mut self, ui: &Ui) {
        let dropped = ui.input(|i| i.raw.dropped_files.clone());
        for file in dropped {
            let path = file.path();
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("har"))
            {
                let ctx = self.ctx.clone();
                let result = self.open_capture_in_background(&ctx, path);
                self.notice = Some(match result {
                    Ok(message) => (false, message),
                    Err(e) => (true, e),
                });
            } else {
                self.notice = Some((
                    true,
                    format!(
                        "{} is not a .jsonl capture or a .har file: only captures can be \
                         dropped here.",
                        path.display()
                    ),
                ));
            }
        }
    }

    /// The built-in echo server's URL.
    pub fn local_echo_url(&self) -> Option<String> {
        self.net.local_echo_url()
    }

    /// Every panic of a background task so far (see [`ws_inspector_core::session::Tasks`]); tests fail on
    /// any.
    pub fn task_panics(&self) -> Vec<String> {
        self.net.tasks().panics()
    }

    /// Whether the active tab's log shows its newest row (for tests).
    pub fn log_at_end(&self) -> bool {
        self.tabs.get(self.active).is_some_and(|t| t.log.at_end())
    }

    /// Whether the active tab's log follows the tail (for tests).
    pub fn log_follows(&self) -> bool {
        self.tabs
            .get(self.active)
            .is_some_and(|t| t.log.settings.follow)
    }

    /// Whether tab `i` shows a capture opened from a file (for tests).
    pub fn tab_is_read_only(&self, i: usize) -> Option<bool> {
        self.tabs.get(i).map(Tab::read_only)
    }

    /// The index of the active tab.
    pub fn active_tab(&self) -> usize {
        self.active
    }

    /// The title of tab `i` as the tab bar shows it (for tests).
    pub fn tab_title(&self, i: usize) -> Option<String> {
        self.tabs.get(i).map(tab_title)
    }

    /// The readyState of the active tab's connection.
    pub fn ready_state(&self) -> Option<ReadyState> {
        let tab = self.tabs.get(self.active)?;
        Some(tab.session.as_ref()?.state().ready_state())
    }

    /// The profile store (for tests and tools).
    pub fn profiles(&self) -> &ProfileStore {
        &self.profiles
    }

    /// Scrolls the active tab's frame log so that the row at `fraction` of it (0 = first,
    /// 1 = last) is in view, and stops following the tail (for benchmarks and tests).
    pub fn scroll_log_to(&mut self, fraction: f32) {
        if let Some(tab) = self.tabs.get_mut(self.active) {
            tab.log.scroll_to(fraction);
        }
    }

    /// The active tab's session state, if it has a session (for benchmarks and tests; hold
    /// the guard briefly).
    pub fn session_state(&self) -> Option<std::sync::MutexGuard<'_, SessionState>> {
        Some(self.tabs.get(self.active)?.session.as_ref()?.state())
    }

    /// Makes connection tab `i` the active one (as a click on it does).
    pub fn activate_tab(&mut self, i: usize) {
        if i < self.tabs.len() {
            self.active = i;
            self.active_server = None;
        }
    }

    /// How many tabs are open.
    pub fn tab_count(&self) -> usize {
        self.tabs.len()
    }

    /// The tabs as they are remembered between runs.
    fn saved_tabs(&self) -> Vec<SavedTab> {
        self.tabs
            .iter()
            .filter(|tab| !tab.read_only())
            .map(|tab| SavedTab {
                profile: tab.profile.clone(),
                saved_as: tab.saved_as.clone(),
                url: tab.url.clone(),
            })
            .collect()
    }

    /// The settings as they would be saved now (for tests).
    pub fn settings_to_save(&self) -> Settings {
        let mut settings = self.settings.clone();
        settings.tabs = self.saved_tabs();
        settings.active_tab = self.saved_active();
        settings
    }

    /// The active tab's place among the tabs remembered (captures are not).
    fn saved_active(&self) -> usize {
        self.tabs[..self.active.min(self.tabs.len())]
            .iter()
            .filter(|t| !t.read_only())
            .count()
            .min(self.saved_tabs().len().saturating_sub(1))
    }

    fn add_tab(&mut self, profile: Profile, saved_as: Option<String>) -> usize {
        let url = self.url_for(&profile);
        // A new tab keeps the display settings, but starts unfiltered.
        let mut log_settings = self.settings.log.clone();
        if !self.tabs.is_empty() {
            log_settings.filter.text.clear();
        }
        let tab = Tab {
            profile,
            saved_as,
            url,
            session: None,
            bar: self.settings.close.clone(),
            log: FrameLogView::new(log_settings),
            workflow: TabWorkflow::default(),
            capture: None,
            reconnect: Reconnector::default(),
            end_seen: false,
            replay: None,
            encoding: ComposerEncoding::default(),
        };
        self.tabs.push(tab);
        self.active = self.tabs.len() - 1;
        self.active_server = None;
        self.active
    }

    fn url_for(&self, profile: &Profile) -> String {
        if profile.local_echo {
            self.net.local_echo_url().unwrap_or_default()
        } else {
            profile.url.clone()
        }
    }

    /// Loads `profile` into the active tab, or a new tab if the active one is connected.
    fn open_profile(&mut self, profile: Profile) {
        let name = profile.name.clone();
        let busy = self.tabs.get(self.active).is_none_or(|t| {
            t.read_only() || t.session.as_ref().is_some_and(|s| !s.state().finished)
        });
        if busy {
            self.add_tab(profile, Some(name));
        } else {
            let url = self.url_for(&profile);
            let tab = &mut self.tabs[self.active];
            tab.profile = profile;
            tab.saved_as = Some(name);
            tab.url = url;
            tab.bar.url_error = None;
        }
    }

    /// Connects tab `i` with its profile and URL, as the user asked (the count of
    /// auto-reconnect attempts starts afresh).
    fn connect(&mut self, ctx: &egui::Context, i: usize) {
        self.connect_as(ctx, i, true);
    }

    /// Connects tab `i`; `by_user`: Connect was pressed (not an auto-reconnect attempt).
    fn connect_as(&mut self, ctx: &egui::Context, i: usize, by_user: bool) {
        if self.tabs.get(i).is_none_or(Tab::read_only) {
            return;
        }
        let echo_url = if self.tabs[i].profile.local_echo {
            match self.net.start_local_echo() {
                Ok(url) => Some(url),
                Err(e) => {
                    self.tabs[i].bar.url_error = Some(e);
                    return;
                }
            }
        } else {
            None
        };
        let tab = &mut self.tabs[i];
        let url = echo_url.unwrap_or_else(|| tab.url.trim().to_owned());
        // `{{…}}` expanded in the URL, the headers and the send-on-connect list, with the new
        // connection's variables (a `{{counter}}` of its own); the URL is checked after.
        let (options, on_connect) = match tab.workflow.prepare_connection(&tab.profile, &url) {
            Ok(prepared) => prepared,
            Err(e) => {
                tab.bar.url_error = Some(e);
                return;
            }
        };
        let keepalive = match tab.profile.keepalive.keepalive() {
            Ok(keepalive) => keepalive,
            Err(e) => {
                tab.bar.url_error = Some(e);
                return;
            }
        };
        let speak = match tab.profile.speak_protocol {
            false => None,
            true => match tab.profile.protocol_client_options() {
                Ok(options) => Some(ws_inspector_core::decode::speaker::Speak {
                    decoder: tab.profile.decoders.incoming.clone(),
                    options,
                }),
                Err(e) => {
                    tab.bar.url_error = Some(e);
                    return;
                }
            },
        };
        tab.url = url;
        tab.bar.url_error = None;
        tab.reconnect.connecting(by_user);
        tab.end_seen = false;
        // The last connection's entries stay above this one's (Clear drops them).
        let previous = tab
            .session
            .take()
            .map(|session| std::mem::take(&mut session.state().log));
        let extras = SessionOptions {
            keepalive,
            secrets: tab.workflow.secrets(),
            speak,
            ..SessionOptions::default()
        };
        tab.session = Some(
            self.net
                .connect_with(options, repaint(ctx), previous, extras),
        );
        if let Some(session) = &tab.session {
            // Held by the session until the connection is open, then sent first, in order.
            tab.workflow.connected(session, on_connect);
        }
    }

    /// Lays out the whole window. `eframe::App::ui` calls this; tests can too.
    pub fn show(&mut self, ui: &mut Ui) {
        self.shortcuts(ui);
        self.auto_reconnect(ui.ctx());
        // The connection's duration ticks while a connection is live.
        let live = self.tabs.iter().any(Tab::live) || self.servers.iter().any(ServerTab::live);
        if live {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(500));
        }
        egui::Panel::top("tabs-bar").show(ui, |ui| self.tabs_ui(ui));
        self.opening_ui(ui);
        self.playback_ui(ui);
        if self.capture_row.is_open() {
            let mut action = None;
            egui::Panel::top("capture-file-row").show(ui, |ui| action = self.capture_row.ui(ui));
            if let Some(action) = action {
                self.capture_action(action);
            }
        }
        egui::Panel::bottom("status-bar").show(ui, |ui| self.status_ui(ui));
        // Side panels in proportion to the window, so a 1024 px window keeps a usable log.
        let width = ui.available_width();
        if self.settings.show_sidebar {
            egui::Panel::left("profiles-sidebar")
                .resizable(true)
                .default_size((width * 0.16).clamp(150.0, 230.0))
                .min_size(130.0)
                // Shrinks with the window, whatever it was dragged to before.
                .max_size((width * 0.25).max(130.0))
                .show(ui, |ui| self.sidebar_ui(ui));
        }
        match self.active_server {
            Some(j) if j < self.servers.len() => {
                let notify = repaint(ui.ctx());
                let (net, profiles) = (&self.net, &self.profiles);
                egui::CentralPanel::default()
                    .show(ui, |ui| self.servers[j].ui(ui, net, profiles, &notify));
                if let Some(profile) = self.servers[j].take_profile_to_save(&self.profiles) {
                    self.save_server_profile(profile);
                }
            }
            _ => {
                egui::CentralPanel::default().show(ui, |ui| self.tab_ui(ui));
            }
        }
        self.update_title(ui.ctx());
        self.dropped_files(ui);
        self.file_dialogs();
    }

    /// Auto-reconnect, for every tab: hands each ended connection to its tab's
    /// [`Reconnector`] once, makes the attempts that are due, and keeps the countdown ticking.
    fn auto_reconnect(&mut self, ctx: &egui::Context) {
        let now = std::time::Instant::now();
        let mut due = Vec::new();
        for (i, tab) in self.tabs.iter_mut().enumerate() {
            if tab.read_only() {
                continue;
            }
            if !tab.end_seen
                && let Some(session) = &tab.session
            {
                let mut state = session.state();
                if state.finished {
                    tab.end_seen = true;
                    tab.reconnect.ended(&tab.profile.reconnect, &mut state, now);
                }
            }
            if tab.reconnect.take_due(now).is_some() {
                due.push(i);
            }
            tab.bar.reconnect = tab.reconnect.pending().cloned();
            if let Some(pending) = tab.reconnect.pending() {
                let tick = std::time::Duration::from_millis(100);
                ctx.request_repaint_after(pending.remaining(now).min(tick));
            }
        }
        for i in due {
            self.connect_as(ctx, i, false);
        }
    }

    /// `ws-inspector — Local echo (1 OPEN)`: the window title follows the active tab.
    fn update_title(&mut self, ctx: &egui::Context) {
        if let Some(server) = self.active_server.and_then(|j| self.servers.get(j)) {
            let title = format!("ws-inspector — {}", server.title());
            if title != self.title {
                ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
                self.title = title;
            }
            return;
        }
        let Some(tab) = self.tabs.get(self.active) else {
            return;
        };
        let name = tab_title(tab);
        let title = match tab.session.as_ref().map(|s| s.state().ready_state()) {
            Some(state) => format!("ws-inspector — {name} ({state})"),
            None => format!("ws-inspector — {name}"),
        };
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn shortcuts(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let connect = KeyboardShortcut::new(Modifiers::COMMAND, Key::K);
        if ui.input_mut(|i| i.consume_shortcut(&connect)) && !self.tabs.is_empty() {
            let live = self.tabs[self.active]
                .session
                .as_ref()
                .is_some_and(|s| !s.state().finished);
            if !live {
                self.connect(&ctx, self.active);
            }
        }
        let find = KeyboardShortcut::new(Modifiers::COMMAND, Key::F);
        if ui.input_mut(|i| i.consume_shortcut(&find))
            && let Some(tab) = self.tabs.get_mut(self.active)
        {
            tab.log.focus_filter = true;
        }
        let new_tab = KeyboardShortcut::new(Modifiers::COMMAND, Key::T);
        if ui.input_mut(|i| i.consume_shortcut(&new_tab)) {
            self.add_tab(Profile::local_echo(), None);
        }
    }

    fn tabs_ui(&mut self, ui: &mut Ui) {
        let palette = Palette::of(ui);
        let mut close = None;
        let mut new_tab = false;
        let mut server_action = None;
        let mut menu = None;
        let server_parts = self
            .active_server
            .and_then(|j| self.servers.get(j))
            .map(|server| !server.capture_parts().is_empty());
        let (has_session, recording) = match self.tabs.get(self.active) {
            // A listen or relay tab: Save writes all its clients; recording is per session.
            _ if server_parts.is_some() => (server_parts == Some(true), None),
            Some(tab) => match &tab.session {
                Some(s) if !tab.read_only() => {
                    (true, Some(s.recorder_status().recording.is_some()))
                }
                Some(_) => (true, None),
                None => (false, None),
            },
            None => (false, None),
        };
        ui.horizontal(|ui| {
            ui.label(RichText::new("ws-inspector").strong().size(15.0));
            menu = file_menu_ui(ui, has_session, recording);
            ui.separator();
            for (i, tab) in self.tabs.iter().enumerate() {
                let state = tab.session.as_ref().map(|s| s.state().ready_state());
                let dot = match state {
                    Some(state) => palette.ready_state(state),
                    None => palette.weak,
                };
                let title = tab_title(tab);
                let selected = i == self.active && self.active_server.is_none();
                egui::Frame::new()
                    .fill(if selected {
                        ui.visuals().selection.bg_fill.gamma_multiply(0.5)
                    } else {
                        ui.visuals().faint_bg_color
                    })
                    .corner_radius(4.0)
                    .inner_margin(egui::Margin::symmetric(6, 2))
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            ui.spacing_mut().item_spacing.x = 4.0;
                            let (rect, _) = ui
                                .allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                            ui.painter().circle_filled(rect.center(), 4.0, dot);
                            let label =
                                egui::Button::new(RichText::new(&title).strong()).frame(false);
                            let response = ui.add(label).on_hover_text(match state {
                                Some(s) => format!("{} — {s}", tab.url),
                                None => tab.url.clone(),
                            });
                            if response.clicked() {
                                self.active = i;
                                self.active_server = None;
                            }
                            if response.middle_clicked() {
                                close = Some(i);
                            }
                            if ui
                                .add(egui::Button::new(RichText::new("✖").small()).frame(false))
                                .on_hover_text(format!("Close tab “{title}”"))
                                .clicked()
                            {
                                close = Some(i);
                            }
                        });
                    });
            }
            if ui
                .button("+")
                .on_hover_text("New tab (Ctrl+T): one more connection, with its own log")
                .clicked()
            {
                new_tab = true;
            }
            server_action = server_tabs_ui(ui, &self.servers, self.active_server);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                egui::widgets::global_theme_preference_buttons(ui);
                self.settings.theme = ui.ctx().options(|o| o.theme_preference);
                ui.toggle_value(&mut self.settings.show_inspector, "Inspector")
                    .on_hover_text("Show the handshake and options panel");
                ui.toggle_value(&mut self.settings.show_sidebar, "Profiles")
                    .on_hover_text("Show the profiles sidebar");
            });
        });
        match menu {
            Some(MenuChoice::Open) => self.start_capture_row(RowKind::Open),
            Some(MenuChoice::Save) => self.start_capture_row(RowKind::Save),
            Some(MenuChoice::Record) => self.start_capture_row(RowKind::Record),
            Some(MenuChoice::StopRecording) => self.stop_recording(),
            None => {}
        }
        if let Some(i) = close {
            if self.tabs[i].live() {
                self.confirm_close = Some(i);
            } else {
                self.close_tab(i);
            }
        }
        self.confirm_close_ui(ui);
        if new_tab {
            self.add_tab(Profile::local_echo(), None);
            self.active_server = None;
        }
        match server_action {
            Some(ServerTabAction::Select(j)) => self.active_server = Some(j),
            Some(ServerTabAction::Close(j)) if j < self.servers.len() => {
                self.servers.remove(j);
                self.active_server = match self.active_server {
                    Some(a) if a == j => None,
                    Some(a) if a > j => Some(a - 1),
                    other => other,
                };
            }
            Some(ServerTabAction::Close(_)) => {}
            Some(ServerTabAction::NewListener) => {
                self.servers.push(ServerTab::Listen(Box::default()));
                self.active_server = Some(self.servers.len() - 1);
            }
            Some(ServerTabAction::NewRelay) => {
                self.servers.push(ServerTab::Relay(Box::default()));
                self.active_server = Some(self.servers.len() - 1);
            }
            None => {}
        }
    }

    /// Opens a listen tab that listens on `addr` at once (`--listen`), and shows it.
    pub fn open_listener(&mut self, ctx: &egui::Context, addr: &str) {
        let tab = ListenTab::listening(addr, &self.net, repaint(ctx));
        self.servers.push(ServerTab::Listen(Box::new(tab)));
        self.active_server = Some(self.servers.len() - 1);
    }

    /// Opens the listen or relay tab a saved profile describes, and shows it.
    fn open_server_profile(&mut self, ctx: &egui::Context, profile: &Profile) {
        let Some(server) = &profile.server else {
            return;
        };
        let tab = match server.kind {
            ServerKind::Listen => ServerTab::Listen(Box::new(ListenTab::from_profile(
                server,
                &self.net,
                repaint(ctx),
            ))),
            ServerKind::Relay => ServerTab::Relay(Box::new(RelayTab::from_profile(
                profile,
                server,
                &self.net,
                &self.profiles,
                repaint(ctx),
            ))),
        };
        self.servers.push(tab);
        self.active_server = Some(self.servers.len() - 1);
    }

    /// Opens a relay tab that relays `addr` to `upstream` at once (`--relay`), and shows it.
    pub fn open_relay(&mut self, ctx: &egui::Context, addr: &str, upstream: &str) {
        let tab = RelayTab::relaying(addr, upstream, &self.net, &self.profiles, repaint(ctx));
        self.servers.push(ServerTab::Relay(Box::new(tab)));
        self.active_server = Some(self.servers.len() - 1);
    }

    /// The URL of the active listen or relay tab, once it listens.
    pub fn server_tab_url(&self) -> Option<String> {
        self.servers.get(self.active_server?)?.url()
    }

    /// The active relay tab's first client's two legs (client ⇄ inspector, inspector ⇄
    /// server), once one is relayed: what the relay tab's benchmark fills.
    pub fn relay_legs(&self) -> Option<(&Session, &Session)> {
        match self.servers.get(self.active_server?)? {
            ServerTab::Relay(tab) => tab.first_client_legs(),
            _ => None,
        }
    }

    /// The number of listen and relay tabs.
    pub fn server_tab_count(&self) -> usize {
        self.servers.len()
    }

    /// Closes tab `i` (its connection, if any, goes away politely: 1001 Going Away).
    fn close_tab(&mut self, i: usize) {
        if i >= self.tabs.len() {
            return;
        }
        self.tabs.remove(i);
        if self.tabs.is_empty() {
            self.add_tab(Profile::local_echo(), None);
        }
        if self.active > i || self.active >= self.tabs.len() {
            self.active = self.active.saturating_sub(1).min(self.tabs.len() - 1);
        }
    }

    /// Asks before closing a tab whose connection is open.
    fn confirm_close_ui(&mut self, ui: &mut Ui) {
        let Some(i) = self.confirm_close else {
            return;
        };
        let Some(tab) = self.tabs.get(i) else {
            self.confirm_close = None;
            return;
        };
        let title = tab_title(tab);
        let url = tab.url.clone();
        let mut decision = None;
        let modal = egui::Modal::new(egui::Id::unique("confirm-close-tab")).show(ui.ctx(), |ui| {
            ui.set_width(360.0);
            ui.heading("Close this tab?");
            ui.label(format!(
                "“{title}” is connected to {url}. Closing the tab closes the connection \
                 (1001 Going Away) and drops its log."
            ));
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Close tab").clicked() {
                    decision = Some(true);
                }
                if ui.button("Keep it").clicked() {
                    decision = Some(false);
                }
            });
        });
        if modal.should_close() && decision.is_none() {
            decision = Some(false);
        }
        match decision {
            Some(true) => {
                self.confirm_close = None;
                self.close_tab(i);
            }
            Some(false) => self.confirm_close = None,
            None => {}
        }
    }

    fn status_ui(&mut self, ui: &mut Ui) {
        let palette = Palette::of(ui);
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 6.0;
            // The URL of the active tab's connection (or the one in its bar), as connected.
            if let Some(tab) = self.tabs.get(self.active) {
                let url = tab
                    .session
                    .as_ref()
                    .map_or_else(|| tab.url.clone(), |s| s.state().url.clone());
                if !url.is_empty() {
                    ui.label(RichText::new(url).monospace().color(palette.weak))
                        .on_hover_text("The active tab's URL");
                    ui.separator();
                }
                // Ping round trips: min / median / p99.
                if let Some(line) = tab
                    .session
                    .as_ref()
                    .and_then(|s| crate::views::graphs::rtt_line(&s.state().activity))
                {
                    ui.label(line)
                        .on_hover_text("Round trips of the pings this side sent: min / median / p99");
                    ui.separator();
                }
            }
            let panics = self.net.tasks().panics();
            if !panics.is_empty() {
                ui.colored_label(palette.error, "⚠ internal error")
                    .on_hover_text(format!(
                        "A background task failed; please report it:\n{}",
                        panics.join("\n")
                    ));
                ui.separator();
            }
            let (entries, memory): (u64, usize) = self
                .tabs
                .iter()
                .filter_map(|t| t.session.as_ref())
                .map(|s| {
                    let state = s.state();
                    (state.log.len() as u64, state.log.approx_memory())
                })
                .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
            ui.label(
                RichText::new(format!(
                    "{} tab(s) · {} log entries · ~{}",
                    self.tabs.len(),
                    format_count(entries),
                    format_bytes(memory as u64)
                ))
                .color(palette.weak),
            );
            if let Some((error, text)) = &self.notice {
                ui.separator();
                let colour = if *error { palette.error } else { palette.weak };
                ui.colored_label(colour, text);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(
                    RichText::new(
                        "Ctrl+K connect · Ctrl+Enter send · Ctrl+1…9 saved · Ctrl+P palette · Ctrl+L clear · Ctrl+F filter",
                    )
                    .color(palette.weak),
                );
            });
        });
    }

    fn sidebar_ui(&mut self, ui: &mut Ui) {
        // The highlight follows the active tab: its profile, or none for an unsaved one.
        if let Some(tab) = self.tabs.get(self.active) {
            self.sidebar.selected.clone_from(&tab.saved_as);
        }
        let Some(action) = self.sidebar.ui(ui, &self.profiles) else {
            return;
        };
        let ctx = ui.ctx().clone();
        let result: Result<Option<String>, String> = match action {
            SidebarAction::Open(name) | SidebarAction::OpenAndConnect(name)
                if self.profiles.get(&name).is_none() =>
            {
                Err(format!("There is no profile named “{name}”."))
            }
            SidebarAction::Open(name) | SidebarAction::OpenAndConnect(name)
                if self.profiles.get(&name).is_some_and(|p| p.server.is_some()) =>
            {
                if let Some(profile) = self.profiles.get(&name).cloned() {
                    self.open_server_profile(&ctx, &profile);
                }
                self.sidebar.selected = Some(name);
                Ok(None)
            }
            SidebarAction::Open(name) => {
                if let Some(profile) = self.profiles.get(&name).cloned() {
                    self.open_profile(profile);
                }
                self.sidebar.selected = Some(name);
                Ok(None)
            }
            SidebarAction::OpenAndConnect(name) => {
                if let Some(profile) = self.profiles.get(&name).cloned() {
                    self.open_profile(profile);
                    self.connect(&ctx, self.active);
                }
                self.sidebar.selected = Some(name);
                Ok(None)
            }
            SidebarAction::Create => self.profiles.create("New profile").map(|profile| {
                let name = profile.name.clone();
                self.open_profile(profile);
                self.settings.inspector_tab = InspectorTab::Options;
                self.settings.show_inspector = true;
                self.sidebar.selected = Some(name.clone());
                Some(format!("Created “{name}”: edit it under Options."))
            }),
            SidebarAction::Duplicate(name) => self.profiles.duplicate(&name).map(|profile| {
                let copy = profile.name.clone();
                self.open_profile(profile);
                self.sidebar.selected = Some(copy.clone());
                Some(format!("Duplicated as “{copy}”."))
            }),
            SidebarAction::Rename { old, new } => {
                if new.is_empty() {
                    Err("A profile needs a name.".to_owned())
                } else if new == old {
                    Ok(None)
                } else {
                    self.profiles.rename(&old, &new).map(|()| {
                        for tab in &mut self.tabs {
                            if tab.saved_as.as_deref() == Some(old.as_str()) {
                                tab.saved_as = Some(new.clone());
                                tab.profile.name.clone_from(&new);
                            }
                        }
                        self.sidebar.selected = Some(new.clone());
                        Some(format!("Renamed to “{new}”."))
                    })
                }
            }
            SidebarAction::Delete(name) => self.profiles.delete(&name).map(|()| {
                for tab in &mut self.tabs {
                    if tab.saved_as.as_deref() == Some(name.as_str()) {
                        tab.saved_as = None;
                    }
                }
                self.sidebar.selected = None;
                Some(format!("Deleted “{name}”."))
            }),
            SidebarAction::Import(path) => {
                self.pending_dialog = Some(Dialog::Import(path));
                Ok(None)
            }
            SidebarAction::Export { name, to } => {
                self.pending_dialog = Some(Dialog::Export { name, to });
                Ok(None)
            }
        };
        match result {
            Ok(Some(message)) => self.sidebar.message = Some((false, message)),
            Ok(None) => {}
            Err(e) => self.sidebar.message = Some((true, e)),
        }
    }

    fn tab_ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let settings = &mut self.settings;
        let saved = tab
            .saved_as
            .as_deref()
            .and_then(|name| self.profiles.get(name));
        let dirty = match saved {
            Some(saved) => {
                let mut edited = tab.profile.clone();
                if !edited.local_echo {
                    edited.url.clone_from(&tab.url);
                }
                saved != &edited
            }
            None => false,
        };
        let Tab {
            profile,
            url,
            session,
            bar,
            log,
            capture,
            workflow,
            replay,
            encoding,
            ..
        } = tab;
        let read_only = capture.is_some();
        // Each view locks the session only while it draws (the drain task applies reports
        // in between); nothing holds the lock across the tab's layout.
        let (open, live) = session.as_ref().map_or((false, false), |s| {
            let state = s.state();
            (
                state.ready_state() == ReadyState::Open && !read_only,
                !state.finished,
            )
        });

        let mut bar_action = None;
        let mut line_action = None;
        let status = session.as_ref().map(Session::recorder_status);
        // The record switch: for a live tab's session that is not being recorded.
        let recordable = !read_only && status.as_ref().is_some_and(|s| s.recording.is_none());
        egui::Panel::top("connection-bar")
            .frame(
                egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(8, 6)),
            )
            .show(ui, |ui| {
                bar_action = bar.ui(
                    ui,
                    url,
                    &mut profile.local_echo,
                    profile.accept_invalid_certs,
                    session.as_ref().map(Session::state).as_deref(),
                    read_only,
                    recordable,
                );
                // A line of its own only when there is something to say: a capture's source,
                // a recording, or why one stopped.
                if let Some(status) = &status
                    && (read_only
                        || status.recording.is_some()
                        || status.error.is_some()
                        || status.note.is_some())
                {
                    line_action = capture_line_ui(ui, capture.as_ref(), status);
                }
                if let Some((replay, skipped)) = replay {
                    replay_line_ui(ui, &replay.phase(), *skipped);
                }
            });
        // Ctrl+1…9, Ctrl+P, and the strip of periodic sends above the log.
        let workflow_send = workflow.top_ui(ui, profile, self.profiles.library(), open);

        let mut options_action = None;
        let (mut saved_send, mut saved_action) = (None, None);
        if settings.show_inspector {
            let width = ui.available_width();
            egui::Panel::right("inspector-panel")
                .resizable(true)
                .default_size((width * 0.32).clamp(250.0, 420.0))
                .min_size(220.0)
                .max_size((width * 0.36).clamp(220.0, 720.0))
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.selectable_value(
                            &mut settings.inspector_tab,
                            InspectorTab::Handshake,
                            "Handshake",
                        );
                        ui.selectable_value(
                            &mut settings.inspector_tab,
                            InspectorTab::Options,
                            "Options",
                        );
                        ui.selectable_value(
                            &mut settings.inspector_tab,
                            InspectorTab::Graphs,
                            "Graphs",
                        );
                        ui.selectable_value(
                            &mut settings.inspector_tab,
                            InspectorTab::Saved,
                            "Saved",
                        );
                        if profile.accept_invalid_certs {
                            ui.colored_label(Palette::of(ui).warning, "⚠ insecure TLS")
                                .on_hover_text("Accept invalid certificates is on");
                        }
                    });
                    ui.separator();
                    match settings.inspector_tab {
                        InspectorTab::Handshake => settings
                            .handshake
                            .ui(ui, session.as_ref().map(Session::state).as_deref()),
                        InspectorTab::Options => {
                            options_action =
                                self.options_view
                                    .ui(ui, profile, saved.is_some(), dirty, live);
                        }
                        InspectorTab::Graphs => match session.as_ref() {
                            Some(session) => {
                                let selected = log.selected();
                                let state = session.state();
                                if let Some(index) = graphs_ui(ui, &state, selected) {
                                    log.show_entry(index);
                                }
                            }
                            None => {
                                ui.label("Connect to see the connection's graphs.");
                            }
                        },
                        InspectorTab::Saved => {
                            let cx = SavedCx {
                                profile,
                                library: self.profiles.library(),
                                session: session.as_ref(),
                                tasks: self.net.tasks(),
                                open,
                                dirty,
                                saved: saved.is_some(),
                            };
                            (saved_send, saved_action) = workflow.saved_ui(ui, cx);
                        }
                    }
                });
        }

        let mut to_send = None;
        let height = ui.available_height();
        egui::Panel::bottom("composer-panel")
            .resizable(true)
            .default_size((height * 0.24).clamp(110.0, 190.0))
            .min_size(100.0)
            .max_size((height * 0.32).max(100.0))
            .frame(
                egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(8, 6)),
            )
            .show(ui, |ui| {
                ui.set_min_size(ui.available_size());
                if let Some(decoder) = &profile.decoders.outgoing {
                    ui.checkbox(
                        &mut encoding.on,
                        format!(
                            "Encode as {} (the text is JSON, an event or a query)",
                            decoder.name()
                        ),
                    )
                    .on_hover_text(
                        "MessagePack, CBOR, protobuf: the JSON text as binary; Socket.IO: an \
                         event [\"name\", args…]; GraphQL: a subscribe of the query",
                    );
                }
                to_send = settings
                    .composer
                    .ui_expanding(ui, open, &mut workflow.vars());
            });
        // The composer's text in the chosen format or protocol, when asked.
        if let (Some(decoder), true) = (&profile.decoders.outgoing, encoding.on)
            && let Some(frames) = to_send.take()
        {
            let (url, protocol) = session.as_ref().map_or((String::new(), None), |s| {
                let state = s.state();
                (state.url.clone(), state.handshake.protocol.clone())
            });
            let mut encoded = Vec::new();
            let mut failed = None;
            for frame in frames {
                match frame {
                    Outgoing::Text(text) => match encode_for_sending(
                        decoder,
                        &text,
                        &url,
                        protocol.as_deref(),
                        &mut encoding.ids,
                    ) {
                        Ok(frames) => encoded.extend(frames),
                        Err(e) => failed = Some(format!("not sent: {e}")),
                    },
                    other => encoded.push(other),
                }
            }
            match failed {
                Some(e) => settings.composer.error = Some(e),
                None => to_send = Some(encoded),
            }
        }
        // Sends from the saved messages (a click, Ctrl+1…9, the palette) go the same way.
        to_send = to_send.or(workflow_send).or(saved_send);
        if let Some(message) = settings.composer.save_as.take() {
            workflow.add_from_composer(profile, message);
            settings.inspector_tab = InspectorTab::Saved;
            settings.show_inspector = true;
        }

        let mut log_action = None;
        log.set_decoders(&profile.decoders);
        egui::CentralPanel::default().show(ui, |ui| {
            log_action = log.ui(ui, session.as_ref().map(Session::state).as_deref());
        });

        // Apply what the views asked for.
        if let (Some(action), Some(session)) = (log_action, session.as_ref()) {
            let mut state = session.state();
            match action {
                LogAction::Clear => {
                    state.log.clear();
                    log.reset();
                }
                LogAction::SetCapture(on) => state.capture = on,
            }
        }
        settings.log.clone_from(&log.settings);
        settings.close.close_code = bar.close_code;
        settings.close.close_reason.clone_from(&bar.close_reason);
        // A close frame from the composer is a close the user asked for: no auto-reconnect.
        let composer_closed = to_send
            .as_ref()
            .is_some_and(|frames| frames.iter().any(|f| matches!(f, Outgoing::Close(..))));
        if let (Some(frames), Some(session)) = (to_send, session.as_ref())
            && let Err(e) = session.send(frames)
        {
            settings.composer.error = Some(e);
        }
        match line_action {
            Some(LineAction::Save) => self.start_capture_row(RowKind::Save),
            Some(LineAction::Replay) => {
                let i = self.active;
                let target = self.tabs.get(i).map(|t| t.url.clone()).unwrap_or_default();
                self.playback = Some(PlaybackForm {
                    kind: PlaybackKind::Replay,
                    tab: i,
                    target,
                    timing_switch: false,
                });
            }
            Some(LineAction::Serve) => {
                self.playback = Some(PlaybackForm {
                    kind: PlaybackKind::Serve,
                    tab: self.active,
                    target: ws_inspector_core::listener::bind::DEFAULT_ADDR.to_owned(),
                    timing_switch: false,
                });
            }
            Some(LineAction::Stop) => self.stop_recording(),
            None => {}
        }
        let Some(Tab {
            session,
            bar,
            reconnect,
            ..
        }) = self.tabs.get_mut(self.active)
        else {
            return;
        };
        if composer_closed {
            reconnect.user_closed();
        }
        match bar_action {
            Some(BarAction::Record) => {
                self.start_capture_row(RowKind::Record);
            }
            Some(BarAction::Connect) => {
                let i = self.active;
                self.connect(&ctx, i);
            }
            Some(BarAction::Cancel) => {
                reconnect.user_closed();
                if let Some(session) = session.as_ref() {
                    session.disconnect();
                }
            }
            Some(BarAction::ReconnectNow) => reconnect.now(std::time::Instant::now()),
            Some(BarAction::StopReconnect) => {
                reconnect.stop();
                bar.reconnect = None;
            }
            Some(BarAction::Close { code, reason }) => {
                reconnect.user_closed();
                if let Some(session) = session.as_ref() {
                    let close = Outgoing::Close(Some(CloseCode::from(code)), reason);
                    if let Err(e) = session.send(vec![close]) {
                        bar.url_error = Some(e);
                    }
                }
            }
            None => {}
        }
        match options_action {
            Some(OptionsAction::Save) => self.save_active_profile(),
            Some(OptionsAction::Revert) => {
                let tab = &mut self.tabs[self.active];
                if let Some(saved) = tab
                    .saved_as
                    .as_deref()
                    .and_then(|name| self.profiles.get(name))
                {
                    tab.profile = saved.clone();
                    tab.url = if saved.local_echo {
                        self.net.local_echo_url().unwrap_or_default()
                    } else {
                        saved.url.clone()
                    };
                }
            }
            None => {}
        }
        if let Some(action) = saved_action
            && let Some(tab) = self.tabs.get_mut(self.active)
            && apply_saved_action(action, &mut self.profiles, &mut tab.workflow)
        {
            self.save_active_profile();
        }
        if let Some(field) = self.options_view.browse.take() {
            self.pending_dialog = Some(Dialog::Pem(field));
        }
        if std::mem::take(&mut self.settings.composer.browse) {
            self.pending_dialog = Some(Dialog::SendFile);
        }
        if let Some(tab) = self.tabs.get(self.active) {
            self.settings.last_profile.clone_from(&tab.saved_as);
        }
    }

    /// Stops the active tab's recording.
    fn stop_recording(&mut self) {
        let stopped = self
            .tabs
            .get(self.active)
            .and_then(|t| t.session.as_ref())
            .and_then(Session::stop_recording);
        if let Some(path) = stopped {
            self.notice = Some((false, format!("Stopped recording to {}.", path.display())));
        }
    }

    /// Saves a listen or relay tab as a new profile (a name no other profile has).
    fn save_server_profile(&mut self, mut profile: Profile) {
        let saved = self.profiles.create(&profile.name).and_then(|created| {
            profile.name = created.name;
            self.profiles.save(&profile).map(|()| profile.name.clone())
        });
        self.notice = Some(match saved {
            Ok(name) => (
                false,
                format!("Saved profile “{name}”: it opens this tab again."),
            ),
            Err(e) => (true, format!("Could not save: {e}")),
        });
    }

    fn save_active_profile(&mut self) {
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let mut profile = tab.profile.clone();
        if !profile.local_echo {
            profile.url.clone_from(&tab.url);
        }
        if tab.saved_as.is_none() {
            // A new profile: give it a name no other profile has.
            match self.profiles.create(&profile.name) {
                Ok(created) => profile.name = created.name,
                Err(e) => {
                    self.notice = Some((true, format!("Could not save: {e}")));
                    return;
                }
            }
        }
        match self.profiles.save(&profile) {
            Ok(()) => {
                tab.profile = profile.clone();
                tab.saved_as = Some(profile.name.clone());
                self.notice = Some((false, format!("Saved profile “{}”.", profile.name)));
            }
            Err(e) => self.notice = Some((true, format!("Could not save: {e}"))),
        }
    }

    /// Files chosen after the frame's layout: in a native file dialog (it blocks until
    /// closed), or typed into a path field. A dialog that gives nothing back was cancelled,
    /// or could not be shown at all: then the view says so and asks for the path instead.
    fn file_dialogs(&mut self) {
        use crate::views::path_field::{NO_FILE_DIALOG, file_dialog_available};

        let Some(dialog) = self.pending_dialog.take() else {
            return;
        };
        match dialog {
            Dialog::Import(path) => {
                let Some(path) = path.or_else(|| {
                    rfd::FileDialog::new()
                        .add_filter("Profile", &["ron"])
                        .pick_file()
                }) else {
                    if !file_dialog_available() {
                        self.sidebar.no_file_dialog();
                    }
                    return;
                };
                match self.profiles.import(&path) {
                    Ok(profile) => {
                        self.sidebar
                            .file_result(Ok(format!("Imported “{}”.", profile.name)));
                        self.open_profile(profile);
                    }
                    Err(e) => self.sidebar.file_result(Err(e)),
                }
            }
            Dialog::Export { name, to } => {
                let Some(path) = to.or_else(|| {
                    rfd::FileDialog::new()
                        .add_filter("Profile", &["ron"])
                        .set_file_name(format!("{name}.ron"))
                        .save_file()
                }) else {
                    if !file_dialog_available() {
                        self.sidebar.no_file_dialog();
                    }
                    return;
                };
                self.sidebar
                    .file_result(match self.profiles.export(&name, &path) {
                        Ok(()) => Ok(format!("Exported to {}.", path.display())),
                        Err(e) => Err(e),
                    });
            }
            Dialog::Pem(field) => {
                let Some(path) = rfd::FileDialog::new()
                    .add_filter("PEM", &["pem", "crt", "cer", "key"])
                    .pick_file()
                else {
                    if !file_dialog_available() {
                        self.options_view.notice = Some((field, NO_FILE_DIALOG.to_owned()));
                    }
                    return;
                };
                if let Some(tab) = self.tabs.get_mut(self.active) {
                    let path = path.display().to_string();
                    match field {
                        FileField::CaFile => tab.profile.ca_file = path,
                        FileField::ClientCert => tab.profile.client_cert_file = path,
                        FileField::ClientKey => tab.profile.client_key_file = path,
                    }
                }
            }
            Dialog::Capture(action) => {
                let filter = |d: rfd::FileDialog| {
                    d.add_filter("Capture (JSON lines)", &["jsonl"])
                        .add_filter("HAR (Chrome, Firefox, mitmproxy)", &["har"])
                        .add_filter("pcapng (Wireshark; save only)", &["pcapng"])
                };
                let name = || {
                    let title = self
                        .tabs
                        .get(self.active)
                        .map_or_else(|| "capture".to_owned(), tab_title);
                    format!("{}.jsonl", file_name_for(&title))
                };
                // A save dialog asks before replacing a file: what it gives may be replaced.
                let chosen = match action {
                    CaptureAction::Open(_) => filter(rfd::FileDialog::new())
                        .pick_file()
                        .map(|p| CaptureAction::Open(Some(p))),
                    CaptureAction::Save(_) => filter(rfd::FileDialog::new())
                        .set_file_name(name())
                        .save_file()
                        .map(|p| CaptureAction::Save(Some((p, true)))),
                    CaptureAction::Record(_) => filter(rfd::FileDialog::new())
                        .set_file_name(name())
                        .save_file()
                        .map(|p| CaptureAction::Record(Some((p, true)))),
                };
                match chosen {
                    Some(action) => self.capture_action(action),
                    None if !file_dialog_available() => {
                        self.capture_row.message = Some((true, NO_FILE_DIALOG.to_owned()));
                    }
                    None => {}
                }
            }
            Dialog::SendFile => {
                let Some(path) = rfd::FileDialog::new().pick_file() else {
                    if !file_dialog_available() {
                        self.settings.composer.file_error = Some(NO_FILE_DIALOG.to_owned());
                    }
                    return;
                };
                // Errors (unreadable, not a file) show next to the composer's path field.
                self.settings.composer.set_file(&path);
            }
        }
    }
}

/// The session's [`Notify`]: a repaint of the window, now or after a while.
fn repaint(ctx: &egui::Context) -> Notify {
    let ctx = ctx.clone();
    Notify::new(move |after| {
        if after.is_zero() {
            ctx.request_repaint();
        } else {
            ctx.request_repaint_after(after);
        }
    })
}

/// A file to choose in a file dialog after the frame, or already typed into a path field
/// (`Some` path: no dialog).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Dialog {
    Import(Option<PathBuf>),
    Export {
        name: String,
        to: Option<PathBuf>,
    },
    Pem(FileField),
    SendFile,
    /// A capture to open, or where to save or record one (the action's path is `None`).
    Capture(CaptureAction),
}

impl eframe::App for WsInspectorApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            let mut settings = self.settings.clone();
            settings.tabs = self.saved_tabs();
            settings.active_tab = self.saved_active();
            eframe::set_value(storage, eframe::APP_KEY, &settings);
        }
    }

    fn persist_egui_memory(&self) -> bool {
        self.persist
    }
}

/// A tab's title: its profile's name while the URL is the profile's own (or the local echo
/// server's), else the host of the URL the user typed or connected to.
fn tab_title(tab: &Tab) -> String {
    if let Some(capture) = &tab.capture {
        return capture.title();
    }
    let url = tab
        .session
        .as_ref()
        .map_or_else(|| tab.url.clone(), |s| s.state().url.clone());
    let own_url = tab.profile.local_echo || url.trim() == tab.profile.url.trim();
    if own_url && !tab.profile.name.is_empty() {
        tab.profile.name.clone()
    } else {
        host_of(&url)
    }
}

/// The host of a URL, as a tab title.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_owned();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| url.to_owned())
}

/// Spacing and fonts for a dense tool: a little more air than egui's defaults, and a
/// slightly larger monospace for the log.
fn install_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = egui::vec2(8.0, 5.0);
        style.spacing.button_padding = egui::vec2(8.0, 3.0);
        style.spacing.interact_size.y = 22.0;
        if let Some(mono) = style.text_styles.get_mut(&egui::TextStyle::Monospace) {
            mono.size = 12.5;
        }
        if let Some(body) = style.text_styles.get_mut(&egui::TextStyle::Body) {
            body.size = 13.5;
        }
        if let Some(button) = style.text_styles.get_mut(&egui::TextStyle::Button) {
            button.size = 13.5;
        }
    });
}

/// What the listen and relay tabs' part of the tab bar asked for.
enum ServerTabAction {
    Select(usize),
    Close(usize),
    NewListener,
    NewRelay,
}

/// The listen and relay tabs in the tab bar, and the buttons that open new ones.
fn server_tabs_ui(
    ui: &mut Ui,
    servers: &[ServerTab],
    active: Option<usize>,
) -> Option<ServerTabAction> {
    let palette = Palette::of(ui);
    let mut action = None;
    for (j, server) in servers.iter().enumerate() {
        let title = server.title();
        let selected = active == Some(j);
        egui::Frame::new()
            .fill(if selected {
                ui.visuals().selection.bg_fill.gamma_multiply(0.5)
            } else {
                ui.visuals().faint_bg_color
            })
            .corner_radius(4.0)
            .inner_margin(egui::Margin::symmetric(6, 2))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 4.0;
                    let dot = server
                        .ready_state()
                        .map_or(palette.weak, |s| palette.ready_state(s));
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().circle_filled(rect.center(), 4.0, dot);
                    let label = egui::Button::new(RichText::new(&title).strong()).frame(false);
                    if ui
                        .add(label)
                        .on_hover_text(server.url().unwrap_or_default())
                        .clicked()
                    {
                        action = Some(ServerTabAction::Select(j));
                    }
                    if ui
                        .add(egui::Button::new(RichText::new("✖").small()).frame(false))
                        .on_hover_text(format!("Close tab “{title}”"))
                        .clicked()
                    {
                        action = Some(ServerTabAction::Close(j));
                    }
                });
            });
    }
    if ui
        .button("New listener")
        .on_hover_text("Listen for clients: the inspector as a WebSocket server")
        .clicked()
    {
        action = Some(ServerTabAction::NewListener);
    }
    if ui
        .button("New relay")
        .on_hover_text("Listen for clients and forward each to an upstream server")
        .clicked()
    {
        action = Some(ServerTabAction::NewRelay);
    }
    action
}
