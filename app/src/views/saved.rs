//! Saved messages, variables and periodic sends in a tab: [`TabWorkflow`], one per tab.
//!
//! - The **Saved** inspector tab ([`TabWorkflow::saved_ui`]): the tab profile's messages and
//!   the workspace-wide library, each sent with one click, edited, deleted, dragged (☰) to
//!   reorder or from one list to the other; a message repeated every N ms (⟳); the library's
//!   import and export; the profile's variables ([`variables_ui`]).
//! - Above the log ([`TabWorkflow::top_ui`]): the periodic sends of the tab, each with its
//!   progress and Stop, and why the last send from here did not happen. It also takes the
//!   shortcuts: Ctrl+1…Ctrl+9 send the first nine messages of the profile, Ctrl+P opens
//!   the [command palette](super::palette).
//! - At connect ([`TabWorkflow::prepare_connection`], [`TabWorkflow::connected`]): the
//!   connection's variables (a `{{counter}}` of its own), the URL and headers expanded, and
//!   the send-on-connect list queued.
//!
//! The profile's messages and variables are part of the tab's working copy of the profile:
//! they are saved with it ("Save profile", as in Options). The library is saved at once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use egui::{RichText, Ui};
use ws_tokio::{ConnectOptions, Outgoing};

use ws_inspector_core::capture::Secrets;
use ws_inspector_core::profiles::saved::move_item;
use ws_inspector_core::profiles::{Profile, ProfileStore, SavedMessage};
use ws_inspector_core::session::{Session, Tasks};
use ws_inspector_core::vars::Variables;
use ws_inspector_core::workflow::periodic::{Periodic, PeriodicSpec, PeriodicState};

use super::Palette;
use super::message_editor::MessageEditor;
use super::palette::{CommandPalette, OPEN_PALETTE};
use super::variables::variables_ui;

/// Which list a saved message is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListId {
    /// The tab profile's own messages.
    Profile,
    /// The workspace-wide library.
    Library,
}

/// What the Saved tab asks the app to do with the profile store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SavedAction {
    /// Replace the library with these messages (and save it).
    SetLibrary(Vec<SavedMessage>),
    /// Append the library file at this path to the library.
    ImportLibrary(PathBuf),
    /// Write the library to this path.
    ExportLibrary(PathBuf),
    /// Save the tab's profile (its messages and variables with the rest of it).
    SaveProfile,
}

/// What the Saved tab needs from the app for one frame.
#[derive(Debug)]
pub struct SavedCx<'a> {
    /// The tab's working copy of its profile.
    pub profile: &'a mut Profile,
    /// The library, as the store has it.
    pub library: &'a [SavedMessage],
    /// The tab's connection, if any.
    pub session: Option<&'a Session>,
    /// Where periodic sends run.
    pub tasks: &'a Tasks,
    /// The connection is open.
    pub open: bool,
    /// The working copy differs from the saved profile.
    pub dirty: bool,
    /// The profile has been saved before.
    pub saved: bool,
}

/// Where a dragged message comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DragItem {
    list: ListId,
    index: usize,
}

/// The form that starts a periodic send of a message.
#[derive(Debug)]
struct RepeatForm {
    list: ListId,
    index: usize,
    every_ms: u64,
    count: u64,
    until_stopped: bool,
}

/// A tab's saved messages, variables and periodic sends (not persisted: the messages and
/// variables live in the profile, the rest with the connection).
#[derive(Debug)]
pub struct TabWorkflow {
    /// The connection's variables: the profile's values, and the connection's counter.
    vars: Arc<Mutex<Variables>>,
    /// The variables of the connection being made, until its session exists.
    pending: Option<Variables>,
    /// The periodic sends on this tab's connection, running or ended (until dismissed).
    periodic: Vec<Periodic>,
    /// The command palette.
    pub palette: CommandPalette,
    editor: Option<MessageEditor>,
    repeat: Option<RepeatForm>,
    /// Why the last send from the saved messages did not happen.
    pub error: Option<String>,
    /// The path typed for the library's import and export.
    library_path: String,
    /// What the last library change or file did.
    notice: Option<(bool, String)>,
}

impl Default for TabWorkflow {
    fn default() -> Self {
        Self {
            vars: Arc::new(Mutex::new(Variables::new())),
            pending: None,
            periodic: Vec::new(),
            palette: CommandPalette::default(),
            editor: None,
            repeat: None,
            error: None,
            library_path: String::new(),
            notice: None,
        }
    }
}

impl TabWorkflow {
    /// The connection's variables; hold the guard only while expanding or drawing.
    pub fn vars(&self) -> MutexGuard<'_, Variables> {
        self.vars.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the profile's variable rows as they are now (the counter stays).
    pub fn sync(&self, profile: &Profile) {
        profile.update_variables(&mut self.vars());
    }

    /// Before a connection is made: the options with `{{…}}` expanded in the URL (`url`)
    /// and the headers, and the send-on-connect list, with the new connection's variables
    /// (its counter from the start). An error names the field or message and the
    /// placeholder; then nothing should be connected to.
    pub fn prepare_connection(
        &mut self,
        profile: &Profile,
        url: &str,
    ) -> Result<(ConnectOptions, Vec<Outgoing>), String> {
        let mut vars = profile.variables();
        let options = profile.to_connect_options_expanded(Some(url), &mut vars)?;
        let on_connect = profile.on_connect_frames(&mut vars)?;
        self.pending = Some(vars);
        Ok((options, on_connect))
    }

    /// The connection prepared is made: its variables become the tab's, the periodic sends
    /// of the last connection are dropped, and the send-on-connect frames are queued (the
    /// session holds them until the connection is open, then sends them first, in order).
    pub fn connected(&mut self, session: &Session, on_connect: Vec<Outgoing>) {
        if let Some(vars) = self.pending.take() {
            self.vars = Arc::new(Mutex::new(vars));
        }
        self.periodic.clear();
        self.repeat = None;
        self.error = None;
        if !on_connect.is_empty()
            && let Err(e) = session.send(on_connect)
        {
            self.error = Some(format!("send on connect: {e}"));
        }
    }

    /// The secret values of the connection being made (or, once made, of the tab's):
    /// what its capture must mask ([`Secrets::mask_line`]).
    pub fn secrets(&self) -> Secrets {
        match &self.pending {
            Some(vars) => Secrets::of(vars),
            None => Secrets::of(&self.vars()),
        }
    }

    /// Adds the composer's draft to the profile's messages and opens it in the editor (to
    /// name it).
    pub fn add_from_composer(&mut self, profile: &mut Profile, message: SavedMessage) {
        profile.saved_messages.push(message.clone());
        self.editor = Some(MessageEditor {
            from: Some((ListId::Profile, profile.saved_messages.len() - 1)),
            keep_in: ListId::Profile,
            draft: message,
        });
    }

    /// Shows what a library change, import or export did.
    pub fn library_result(&mut self, result: Result<String, String>) {
        self.notice = Some(match result {
            Ok(message) => (false, message),
            Err(e) => (true, e),
        });
    }

    /// Every frame of the active tab, above the log: the shortcuts (Ctrl+1…9, Ctrl+P), the
    /// command palette, and a strip with the periodic sends and the last error. Returns the
    /// frames to send.
    pub fn top_ui(
        &mut self,
        ui: &mut Ui,
        profile: &Profile,
        library: &[SavedMessage],
        open: bool,
    ) -> Option<Vec<Outgoing>> {
        self.sync(profile);
        let mut send = None;
        if ui.input_mut(|i| i.consume_shortcut(&OPEN_PALETTE)) {
            self.palette.show();
        }
        for (n, key) in NUMBER_KEYS.iter().enumerate() {
            let shortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, *key);
            if ui.input_mut(|i| i.consume_shortcut(&shortcut)) {
                send = match profile.saved_messages.get(n) {
                    Some(message) => self.send(message, open),
                    None => {
                        self.error = Some(format!(
                            "Ctrl+{}: the profile has no message number {}",
                            n + 1,
                            n + 1
                        ));
                        None
                    }
                };
            }
        }
        if let Some((list, i)) = self.palette.ui(ui, &profile.saved_messages, library) {
            let message = match list {
                ListId::Profile => profile.saved_messages.get(i),
                ListId::Library => library.get(i),
            };
            if let Some(message) = message {
                send = self.send(message, open);
            }
        }
        if !self.periodic.is_empty() || self.error.is_some() {
            egui::Panel::top("workflow-strip")
                .frame(
                    egui::Frame::side_top_panel(ui.style())
                        .inner_margin(egui::Margin::symmetric(8, 4)),
                )
                .show(ui, |ui| self.strip_ui(ui));
        }
        send
    }

    /// The periodic sends, each a row with its progress and Stop, and the last error.
    fn strip_ui(&mut self, ui: &mut Ui) {
        let palette = Palette::of(ui);
        let mut dismiss = None;
        let mut running = false;
        for (i, periodic) in self.periodic.iter().enumerate() {
            let status = periodic.status();
            running |= status.is_running();
            ui.horizontal(|ui| {
                let (icon, colour) = match &status.state {
                    PeriodicState::Running => ("⟳", palette.outgoing),
                    PeriodicState::Done => ("✔", palette.weak),
                    PeriodicState::Stopped => ("■", palette.weak),
                    PeriodicState::Failed(_) => ("⚠", palette.error),
                };
                ui.colored_label(colour, icon);
                ui.label(format!(
                    "Periodic “{}” every {} ms",
                    status.name,
                    status.every.as_millis()
                ));
                ui.label(RichText::new(status.progress()).monospace().strong());
                match &status.state {
                    PeriodicState::Running => {
                        if ui
                            .button("Stop sending")
                            .on_hover_text("Stop this periodic send")
                            .clicked()
                        {
                            periodic.stop();
                        }
                    }
                    state => {
                        let said = match state {
                            PeriodicState::Done => "done".to_owned(),
                            PeriodicState::Stopped => "stopped".to_owned(),
                            PeriodicState::Failed(why) => format!("ended: {why}"),
                            PeriodicState::Running => String::new(),
                        };
                        ui.label(RichText::new(said).color(colour));
                        if ui
                            .small_button("Dismiss")
                            .on_hover_text("Remove this row")
                            .clicked()
                        {
                            dismiss = Some(i);
                        }
                    }
                }
            });
        }
        if let Some(i) = dismiss {
            self.periodic.remove(i);
        }
        if running {
            // The progress moves even when no frame is logged for a while.
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        }
        let mut clear = false;
        if let Some(error) = &self.error {
            ui.horizontal(|ui| {
                ui.add(
                    egui::Label::new(RichText::new(format!("⚠ {error}")).color(palette.error))
                        .wrap(),
                );
                clear = ui
                    .small_button("Dismiss")
                    .on_hover_text("Dismiss the error")
                    .clicked();
            });
        }
        if clear {
            self.error = None;
        }
    }

    /// The frame for `message`, expanded with the connection's variables, or the error
    /// (then nothing is sent).
    fn send(&mut self, message: &SavedMessage, open: bool) -> Option<Vec<Outgoing>> {
        if !open {
            self.error = Some(format!(
                "“{}” was not sent: not connected (Connect first)",
                message.title()
            ));
            return None;
        }
        let built = message.to_outgoing(&mut self.vars());
        match built {
            Ok(out) => {
                self.error = None;
                Some(vec![out])
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }

    /// The Saved inspector tab. Returns the frames to send and what the store should do.
    pub fn saved_ui(
        &mut self,
        ui: &mut Ui,
        cx: SavedCx<'_>,
    ) -> (Option<Vec<Outgoing>>, Option<SavedAction>) {
        let palette = Palette::of(ui);
        let mut out = Output::default();
        let SavedCx {
            profile,
            library,
            session,
            tasks,
            open,
            dirty,
            saved,
        } = cx;
        let mut library_copy = library.to_vec();
        egui::ScrollArea::vertical()
            .id_salt("saved-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if dirty || !saved {
                    ui.horizontal(|ui| {
                        if ui
                            .button("Save profile")
                            .on_hover_text(
                                "Save the profile with its messages and variables (and any \
                                 other change made under Options)",
                            )
                            .clicked()
                        {
                            out.action = Some(SavedAction::SaveProfile);
                        }
                        ui.label(
                            RichText::new(if saved {
                                "unsaved changes"
                            } else {
                                "this tab's profile is not saved yet"
                            })
                            .color(palette.warning),
                        );
                    });
                }
                ui.label(RichText::new("This profile").strong());
                ui.label(
                    RichText::new(
                        "Click a name to send it · Ctrl+1…9 send the first nine · Ctrl+P \
                         searches · ☰ drag to reorder · ⚡ sent on connect",
                    )
                    .color(palette.weak)
                    .small(),
                );
                self.list_ui(
                    ui,
                    ListId::Profile,
                    &mut profile.saved_messages,
                    open,
                    &mut out,
                );
                if ui
                    .button("Add to profile")
                    .on_hover_text("A new message of this profile")
                    .clicked()
                {
                    self.new_message(ListId::Profile);
                }
                self.editor_ui(ui, &mut profile.saved_messages, &mut library_copy, &mut out);
                ui.separator();
                ui.label(RichText::new("Library").strong())
                    .on_hover_text("Saved messages for every profile, saved at once");
                let before = library_copy.clone();
                self.list_ui(ui, ListId::Library, &mut library_copy, open, &mut out);
                if library_copy != before {
                    out.library_changed = true;
                }
                if ui
                    .button("Add to library")
                    .on_hover_text("A new message of the library, for every profile")
                    .clicked()
                {
                    self.new_message(ListId::Library);
                }
                self.library_files_ui(ui, &mut out, &palette);
                ui.separator();
                egui::CollapsingHeader::new(RichText::new("Variables").strong())
                    .id_salt("saved-variables")
                    .default_open(true)
                    .show(ui, |ui| {
                        variables_ui(ui, profile);
                    });
            });
        // A message dropped on the other list: remove it here, insert it there.
        if let Some((from, to)) = out.moved.take() {
            move_between(&mut profile.saved_messages, &mut library_copy, from, to);
            if from.list == ListId::Library || to.list == ListId::Library {
                out.library_changed = true;
            }
        }
        if let Some(repeat) = out.start_repeat.take() {
            self.start_repeat(&repeat, profile, &library_copy, session, tasks);
        }
        if out.library_changed && out.action.is_none() {
            out.action = Some(SavedAction::SetLibrary(library_copy));
        }
        (out.send, out.action)
    }

    /// One list: a row per message, rows reorderable by dragging their ☰.
    fn list_ui(
        &mut self,
        ui: &mut Ui,
        list: ListId,
        messages: &mut Vec<SavedMessage>,
        open: bool,
        out: &mut Output,
    ) {
        let palette = Palette::of(ui);
        if messages.is_empty() {
            ui.label(
                RichText::new(match list {
                    ListId::Profile => "No messages yet: Add, or Save as message in the composer.",
                    ListId::Library => "No messages in the library yet.",
                })
                .color(palette.weak),
            );
        }
        let mut send = None;
        let mut delete = None;
        let frame = egui::Frame::new().inner_margin(egui::Margin::symmetric(0, 2));
        let (_, dropped) = ui.dnd_drop_zone::<DragItem, ()>(frame, |ui| {
            ui.set_min_width(ui.available_width());
            for (index, message) in messages.iter().enumerate() {
                let row = ui.horizontal(|ui| {
                    let id = ui.make_persistent_id(("saved-drag", list, index));
                    ui.dnd_drag_source(id, DragItem { list, index }, |ui| {
                        ui.label(RichText::new("☰").color(palette.weak))
                            .on_hover_text("Drag to reorder");
                    });
                    if list == ListId::Profile && index < 9 {
                        ui.label(
                            RichText::new(format!("{}", index + 1))
                                .monospace()
                                .color(palette.weak),
                        )
                        .on_hover_text(format!("Ctrl+{} sends it", index + 1));
                    }
                    let preview: String = message.payload.chars().take(200).collect();
                    if ui
                        .add(egui::Button::new(message.title()).truncate())
                        .on_hover_text(format!("Send it ({}): {preview}", message.kind.label()))
                        .clicked()
                    {
                        send = Some(index);
                    }
                    if list == ListId::Profile && message.on_connect {
                        ui.label(RichText::new("⚡").color(palette.control))
                            .on_hover_text("Sent on connect");
                    }
                    if ui
                        .small_button("⟳")
                        .on_hover_text(format!("Send “{}” every N ms", message.title()))
                        .clicked()
                    {
                        self.repeat = Some(RepeatForm {
                            list,
                            index,
                            every_ms: 1000,
                            count: 10,
                            until_stopped: false,
                        });
                    }
                    if ui
                        .small_button("✏")
                        .on_hover_text(format!("Edit “{}”", message.title()))
                        .clicked()
                    {
                        self.editor = Some(MessageEditor {
                            from: Some((list, index)),
                            keep_in: list,
                            draft: message.clone(),
                        });
                    }
                    if ui
                        .small_button("🗑")
                        .on_hover_text(format!("Delete “{}”", message.title()))
                        .clicked()
                    {
                        delete = Some(index);
                    }
                });
                let response = row.response;
                if let (Some(pointer), Some(_)) = (
                    ui.input(|i| i.pointer.interact_pos()),
                    response.dnd_hover_payload::<DragItem>(),
                ) {
                    // A line where the message would go.
                    let rect = response.rect;
                    let y = if pointer.y < rect.center().y {
                        rect.top()
                    } else {
                        rect.bottom()
                    };
                    let stroke = egui::Stroke::new(2.0, palette.outgoing);
                    ui.painter().hline(rect.x_range(), y, stroke);
                }
                if let Some(item) = response.dnd_release_payload::<DragItem>() {
                    let below = ui
                        .input(|i| i.pointer.interact_pos())
                        .is_some_and(|p| p.y >= response.rect.center().y);
                    let to = DragItem {
                        list,
                        index: index + usize::from(below),
                    };
                    out.moved = Some((*item, to));
                }
                if self
                    .repeat
                    .as_ref()
                    .is_some_and(|r| r.list == list && r.index == index)
                {
                    self.repeat_ui(ui, open, out);
                }
            }
        });
        // Dropped on the list but not on a row: to its end.
        if let Some(item) = dropped
            && out.moved.is_none()
        {
            let to = DragItem {
                list,
                index: messages.len(),
            };
            out.moved = Some((*item, to));
        }
        if let Some((from, to)) = out.moved
            && from.list == list
            && to.list == list
        {
            move_item(messages, from.index, to.index);
            out.moved = None;
        }
        if let Some(index) = send {
            out.send = self.send(&messages[index], open);
        }
        if let Some(index) = delete {
            messages.remove(index);
            // Forms that pointed at it, or past it, are closed.
            if self.repeat.as_ref().is_some_and(|r| r.list == list) {
                self.repeat = None;
            }
            if self
                .editor
                .as_ref()
                .is_some_and(|e| e.from.is_some_and(|(l, _)| l == list))
            {
                self.editor = None;
            }
        }
    }

    /// The form under a row that starts a periodic send.
    fn repeat_ui(&mut self, ui: &mut Ui, open: bool, out: &mut Output) {
        let Some(form) = self.repeat.as_mut() else {
            return;
        };
        let mut cancel = false;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                let label = ui.label("Every (ms)");
                ui.add(egui::DragValue::new(&mut form.every_ms).range(1..=86_400_000))
                    .labelled_by(label.id);
                let label = ui.label("Times");
                ui.add_enabled(
                    !form.until_stopped,
                    egui::DragValue::new(&mut form.count).range(1..=u64::MAX),
                )
                .labelled_by(label.id);
                ui.checkbox(&mut form.until_stopped, "until stopped");
            });
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(open, egui::Button::new("Start periodic send"))
                    .on_disabled_hover_text("Connect first")
                    .clicked()
                {
                    out.start_repeat = Some(RepeatForm {
                        list: form.list,
                        index: form.index,
                        every_ms: form.every_ms,
                        count: form.count,
                        until_stopped: form.until_stopped,
                    });
                }
                cancel = ui.button("Cancel").clicked();
            });
        });
        if cancel {
            self.repeat = None;
        }
    }

    fn start_repeat(
        &mut self,
        form: &RepeatForm,
        profile: &Profile,
        library: &[SavedMessage],
        session: Option<&Session>,
        tasks: &Tasks,
    ) {
        let message = match form.list {
            ListId::Profile => profile.saved_messages.get(form.index),
            ListId::Library => library.get(form.index),
        };
        let (Some(message), Some(session)) = (message, session) else {
            self.error = Some("not connected (Connect first)".to_owned());
            return;
        };
        let spec = PeriodicSpec {
            message: message.clone(),
            every: Duration::from_millis(form.every_ms),
            count: (!form.until_stopped).then_some(form.count),
        };
        match Periodic::start(session, tasks, self.vars.clone(), spec) {
            Ok(periodic) => {
                self.periodic.push(periodic);
                self.repeat = None;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn new_message(&mut self, keep_in: ListId) {
        self.editor = Some(MessageEditor {
            from: None,
            keep_in,
            draft: SavedMessage {
                name: "New message".to_owned(),
                ..SavedMessage::default()
            },
        });
    }

    /// The message editor, when a message is being edited or added.
    fn editor_ui(
        &mut self,
        ui: &mut Ui,
        profile: &mut Vec<SavedMessage>,
        library: &mut Vec<SavedMessage>,
        out: &mut Output,
    ) {
        let Some(editor) = self.editor.as_mut() else {
            return;
        };
        // A copy for the preview: the periodic sends keep using the connection's meanwhile.
        let vars = self
            .vars
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match editor.ui(ui, &vars) {
            Some(true) => {
                if let Some(editor) = self.editor.take() {
                    out.library_changed |= editor.save_into(profile, library);
                }
            }
            Some(false) => self.editor = None,
            None => {}
        }
    }

    /// The library's import and export: a path, and the two buttons.
    fn library_files_ui(&mut self, ui: &mut Ui, out: &mut Output, palette: &Palette) {
        ui.horizontal(|ui| {
            let label = ui.label("Library file");
            ui.add(
                egui::TextEdit::singleline(&mut self.library_path)
                    .hint_text("path/to/library.ron")
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
            let path = self.library_path.trim();
            let has_path = !path.is_empty();
            if ui
                .add_enabled(has_path, egui::Button::new("Import"))
                .on_hover_text("Add the messages of this library file to the library")
                .clicked()
            {
                out.action = Some(SavedAction::ImportLibrary(PathBuf::from(path)));
            }
            if ui
                .add_enabled(has_path, egui::Button::new("Export"))
                .on_hover_text("Write the whole library to this file (replacing it)")
                .clicked()
            {
                out.action = Some(SavedAction::ExportLibrary(PathBuf::from(path)));
            }
        });
        if let Some((error, text)) = &self.notice {
            let colour = if *error { palette.error } else { palette.weak };
            ui.add(egui::Label::new(RichText::new(text).color(colour)).wrap());
        }
    }
}

/// Ctrl+1…Ctrl+9.
const NUMBER_KEYS: [egui::Key; 9] = [
    egui::Key::Num1,
    egui::Key::Num2,
    egui::Key::Num3,
    egui::Key::Num4,
    egui::Key::Num5,
    egui::Key::Num6,
    egui::Key::Num7,
    egui::Key::Num8,
    egui::Key::Num9,
];

/// What one frame of the Saved tab produced.
#[derive(Default)]
struct Output {
    send: Option<Vec<Outgoing>>,
    action: Option<SavedAction>,
    library_changed: bool,
    /// A message dragged from one place to another.
    moved: Option<(DragItem, DragItem)>,
    start_repeat: Option<RepeatForm>,
}

/// Moves a message from one list to the other (`to.index` in the target list).
fn move_between(
    profile: &mut Vec<SavedMessage>,
    library: &mut Vec<SavedMessage>,
    from: DragItem,
    to: DragItem,
) {
    if from.list == to.list {
        let list = match from.list {
            ListId::Profile => profile,
            ListId::Library => library,
        };
        move_item(list, from.index, to.index);
        return;
    }
    let (source, target) = match from.list {
        ListId::Profile => (profile, library),
        ListId::Library => (library, profile),
    };
    if from.index >= source.len() {
        return;
    }
    let mut message = source.remove(from.index);
    if to.list == ListId::Library {
        message.on_connect = false;
    }
    target.insert(to.index.min(target.len()), message);
}

/// Applies what the Saved tab asked of the store; returns whether the tab's profile should
/// be saved (the app's Save, as in Options).
pub fn apply_saved_action(
    action: SavedAction,
    store: &mut ProfileStore,
    workflow: &mut TabWorkflow,
) -> bool {
    let result = match action {
        SavedAction::SaveProfile => return true,
        SavedAction::SetLibrary(messages) => store.set_library(messages).map(|()| String::new()),
        SavedAction::ImportLibrary(path) => store.import_library(&path).map(|n| {
            format!(
                "Imported {n} message{} from {}.",
                if n == 1 { "" } else { "s" },
                path.display()
            )
        }),
        SavedAction::ExportLibrary(path) => store
            .export_library(&path)
            .map(|()| format!("Exported the library to {}.", path.display())),
    };
    match result {
        Ok(message) if message.is_empty() => workflow.notice = None,
        other => workflow.library_result(other),
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[SavedMessage]) -> Vec<&str> {
        list.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn drags_within_and_between_lists() {
        let mut profile = vec![
            SavedMessage {
                on_connect: true,
                ..SavedMessage::text("a", "")
            },
            SavedMessage::text("b", ""),
            SavedMessage::text("c", ""),
        ];
        let mut library = vec![SavedMessage::text("x", "")];
        let at = |list, index| DragItem { list, index };
        move_between(
            &mut profile,
            &mut library,
            at(ListId::Profile, 2),
            at(ListId::Profile, 0),
        );
        assert_eq!(names(&profile), ["c", "a", "b"]);
        move_between(
            &mut profile,
            &mut library,
            at(ListId::Profile, 1),
            at(ListId::Library, 0),
        );
        assert_eq!(names(&profile), ["c", "b"]);
        assert_eq!(names(&library), ["a", "x"]);
        assert!(!library[0].on_connect);
        move_between(
            &mut profile,
            &mut library,
            at(ListId::Library, 1),
            at(ListId::Profile, 9),
        );
        assert_eq!(names(&profile), ["c", "b", "x"]);
        assert_eq!(names(&library), ["a"]);
        move_between(
            &mut profile,
            &mut library,
            at(ListId::Library, 5),
            at(ListId::Profile, 0),
        );
        assert_eq!(names(&library), ["a"]);
    }
}
