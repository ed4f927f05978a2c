//! The profiles sidebar: the saved profiles, create / rename / duplicate / delete, import and
//! export, and the problems found while loading them (corrupt files moved aside).

use std::path::PathBuf;

use egui::{RichText, Ui};

use super::Palette;
use super::path_field::{NO_FILE_DIALOG, PathField, PathStatus, resolve};
use ws_inspector_core::profiles::ProfileStore;

/// What the sidebar asked the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SidebarAction {
    /// Open this profile in the current tab (or a new one if the current tab is busy).
    Open(String),
    /// Open this profile and connect.
    OpenAndConnect(String),
    /// Create a new profile.
    Create,
    /// Duplicate this profile.
    Duplicate(String),
    /// Rename a profile.
    Rename {
        /// Its name now.
        old: String,
        /// The new name.
        new: String,
    },
    /// Delete this profile.
    Delete(String),
    /// Import a profile file: this one, or (`None`) one chosen in a file dialog.
    Import(Option<PathBuf>),
    /// Export a profile to a file.
    Export {
        /// The profile.
        name: String,
        /// The file to write, or (`None`) one chosen in a file dialog.
        to: Option<PathBuf>,
    },
}

/// The import or export row under the buttons: a path field, Browse… and a button that does
/// it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum FileRow {
    /// Import: the path typed so far.
    Import(String),
    /// Export this profile to the path typed so far.
    Export {
        /// The profile.
        name: String,
        /// The destination.
        path: String,
    },
}

/// The sidebar's own state.
#[derive(Debug, Default)]
pub struct Sidebar {
    /// The highlighted profile.
    pub selected: Option<String>,
    /// A rename in progress: (old name, edited name).
    renaming: Option<(String, String)>,
    /// The rename field still has to take the keyboard focus (once: a field that asks for
    /// focus every frame takes it back from its own Enter, and never reports it).
    focus_rename: bool,
    /// The import or export row, when open.
    file_row: Option<FileRow>,
    /// A delete waiting for confirmation.
    confirm_delete: Option<String>,
    /// The last outcome of an action, shown at the bottom (error?, message).
    pub message: Option<(bool, String)>,
}

impl Sidebar {
    /// Reports how an import or export ended: on success the row closes; either way the
    /// message shows under it.
    pub fn file_result(&mut self, result: Result<String, String>) {
        match result {
            Ok(message) => {
                self.file_row = None;
                self.message = Some((false, message));
            }
            Err(e) => self.message = Some((true, e)),
        }
    }

    /// A file dialog gave nothing back because none can be shown: say so under the path
    /// field (which stays open for typing).
    pub fn no_file_dialog(&mut self) {
        self.message = Some((true, NO_FILE_DIALOG.to_owned()));
    }

    /// Starts renaming `name`.
    fn start_rename(&mut self, name: &str) {
        self.renaming = Some((name.to_owned(), name.to_owned()));
        self.focus_rename = true;
    }

    /// Opens the export row for `name`, with a file of its name in the home folder.
    fn start_export(&mut self, name: &str) {
        let file = format!("{}.ron", file_name_for(name));
        let path = match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(file).display().to_string(),
            None => file,
        };
        self.message = None;
        self.file_row = Some(FileRow::Export {
            name: name.to_owned(),
            path,
        });
    }

    /// Shows the sidebar.
    pub fn ui(&mut self, ui: &mut Ui, store: &ProfileStore) -> Option<SidebarAction> {
        let palette = Palette::of(ui);
        let mut action = None;
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.heading("Profiles");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("+ New")
                    .on_hover_text("Create a profile")
                    .clicked()
                {
                    action = Some(SidebarAction::Create);
                }
            });
        });
        ui.separator();

        if !store.problems().is_empty() {
            egui::Frame::new()
                .fill(palette.warning.gamma_multiply(0.15))
                .stroke(egui::Stroke::new(1.0, palette.warning))
                .corner_radius(4.0)
                .inner_margin(6.0)
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.label(
                        RichText::new("⚠ Problems with profile files")
                            .strong()
                            .color(palette.warning),
                    );
                    for problem in store.problems() {
                        ui.add(egui::Label::new(problem).wrap());
                    }
                });
            ui.add_space(4.0);
        }

        // The buttons, the import/export row and the messages below the list take what they
        // took last frame; the list gets the rest.
        let bottom_id = ui.make_persistent_id("sidebar-bottom-height");
        let bottom_height: f32 = ui.data(|d| d.get_temp(bottom_id)).unwrap_or(120.0);
        let mut rename = None;
        let mut export = None;
        egui::ScrollArea::vertical()
            .id_salt("profiles-scroll")
            .auto_shrink([false, false])
            .max_height((ui.available_height() - bottom_height).max(80.0))
            .show(ui, |ui| {
                for profile in store.profiles() {
                    let name = &profile.name;
                    if let Some((old, edited)) = &mut self.renaming
                        && old == name
                    {
                        let response = ui
                            .add(
                                egui::TextEdit::singleline(edited)
                                    .hint_text("New name")
                                    .desired_width(f32::INFINITY),
                            )
                            .accessible_name("New name");
                        // Focus once. A singleline TextEdit gives up the focus on Enter, in
                        // the frame Enter is pressed; asking for focus every frame took it
                        // straight back, so `lost_focus` never held and Enter did nothing.
                        if std::mem::take(&mut self.focus_rename) {
                            response.request_focus();
                        }
                        let enter =
                            response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                        let escape = ui.input(|i| i.key_pressed(egui::Key::Escape));
                        ui.horizontal(|ui| {
                            if ui.small_button("Rename").clicked() || enter {
                                action = Some(SidebarAction::Rename {
                                    old: old.clone(),
                                    new: edited.trim().to_owned(),
                                });
                            }
                            if ui.small_button("Cancel").clicked() || escape {
                                action = Some(SidebarAction::Open(old.clone()));
                            }
                        });
                        continue;
                    }
                    let selected = self.selected.as_deref() == Some(name.as_str());
                    let subtitle = if profile.local_echo {
                        "built-in echo server".to_owned()
                    } else {
                        profile.url.clone()
                    };
                    let response = ui
                        .add(
                            egui::Button::selectable(
                                selected,
                                egui::Atoms::new((
                                    RichText::new(name).strong(),
                                    egui::Atom::grow(),
                                )),
                            )
                            .min_size(egui::vec2(ui.available_width(), 0.0)),
                        )
                        .on_hover_text(format!("{subtitle}\nDouble-click to connect"));
                    ui.add(
                        egui::Label::new(RichText::new(subtitle).color(palette.weak)).truncate(),
                    );
                    ui.add_space(2.0);
                    if response.double_clicked() {
                        action = Some(SidebarAction::OpenAndConnect(name.clone()));
                    } else if response.clicked() {
                        action = Some(SidebarAction::Open(name.clone()));
                    }
                    response.context_menu(|ui| {
                        if ui.button("Connect").clicked() {
                            action = Some(SidebarAction::OpenAndConnect(name.clone()));
                        }
                        if ui.button("Rename").clicked() {
                            rename = Some(name.clone());
                        }
                        if ui.button("Duplicate").clicked() {
                            action = Some(SidebarAction::Duplicate(name.clone()));
                        }
                        if ui.button("Export…").clicked() {
                            export = Some(name.clone());
                        }
                        if ui.button("Delete").clicked() {
                            self.confirm_delete = Some(name.clone());
                        }
                    });
                }
            });

        let bottom_top = ui.cursor().min.y;
        ui.separator();
        let current = self.selected.clone();
        ui.horizontal_wrapped(|ui| {
            let enabled = current.is_some();
            if ui
                .add_enabled(enabled, egui::Button::new("Rename"))
                .clicked()
            {
                rename.clone_from(&current);
            }
            if ui
                .add_enabled(enabled, egui::Button::new("Duplicate"))
                .clicked()
                && let Some(name) = &current
            {
                action = Some(SidebarAction::Duplicate(name.clone()));
            }
            if ui
                .add_enabled(enabled, egui::Button::new("Delete"))
                .clicked()
            {
                self.confirm_delete.clone_from(&current);
            }
            if ui
                .button("Import…")
                .on_hover_text("Import a profile file")
                .clicked()
            {
                self.message = None;
                self.file_row = match self.file_row {
                    Some(FileRow::Import(_)) => None,
                    _ => Some(FileRow::Import(String::new())),
                };
            }
            if ui
                .add_enabled(enabled, egui::Button::new("Export…"))
                .on_hover_text("Write this profile to a file")
                .clicked()
            {
                export.clone_from(&current);
            }
        });
        if let Some(row_action) = self.file_row_ui(ui) {
            action = Some(row_action);
        }
        if let Some((error, message)) = &self.message {
            let colour = if *error { palette.error } else { palette.weak };
            ui.add(egui::Label::new(RichText::new(message).color(colour)).wrap());
        }
        ui.add(
            egui::Label::new(
                RichText::new(format!("Folder: {}", store.dir().display())).color(palette.weak),
            )
            .truncate(),
        )
        .on_hover_text(format!(
            "Profiles are RON files in this folder:\n{}",
            store.dir().display()
        ));
        let used = ui.cursor().min.y - bottom_top + ui.spacing().item_spacing.y;
        if (used - bottom_height).abs() > 0.5 {
            ui.data_mut(|d| d.insert_temp(bottom_id, used));
            ui.ctx().request_repaint();
        }
        if let Some(name) = rename {
            self.start_rename(&name);
        }
        if let Some(name) = export {
            match &self.file_row {
                Some(FileRow::Export { name: open, .. }) if *open == name => self.file_row = None,
                _ => self.start_export(&name),
            }
        }

        if let Some(name) = self.confirm_delete.clone() {
            let modal = egui::Modal::new(egui::Id::unique("confirm-delete")).show(ui.ctx(), |ui| {
                ui.set_width(320.0);
                ui.heading("Delete profile?");
                ui.label(format!("“{name}” and its file will be deleted."));
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    if ui.button("Delete").clicked() {
                        action = Some(SidebarAction::Delete(name.clone()));
                        self.confirm_delete = None;
                    }
                    if ui.button("Cancel").clicked() {
                        self.confirm_delete = None;
                    }
                });
            });
            if modal.should_close() {
                self.confirm_delete = None;
            }
        }
        if matches!(
            action,
            Some(SidebarAction::Rename { .. } | SidebarAction::Open(_))
        ) {
            self.renaming = None;
        }
        action
    }

    /// The import or export row: a path field, Browse… and Import / Export / Replace.
    fn file_row_ui(&mut self, ui: &mut Ui) -> Option<SidebarAction> {
        let palette = Palette::of(ui);
        let mut action = None;
        let mut close = false;
        let (title, path, name) = match &mut self.file_row {
            None => return None,
            Some(FileRow::Import(path)) => ("Import from".to_owned(), path, None),
            Some(FileRow::Export { name, path }) => {
                (format!("Export “{name}” to"), path, Some(name.clone()))
            }
        };
        let label = ui.label(RichText::new(&title).strong());
        let mut field = PathField::new(ui, ("sidebar-file", name.is_some()), path)
            .labelled_by(label.id)
            .hint_text("Path of the .ron file (Tab completes)");
        if name.is_some() {
            field = field.probe();
        }
        let output = field.ui(ui);
        if output.response.changed() {
            self.message = None;
        }
        let typed = !path.trim().is_empty();
        let replace = output.status == Some(PathStatus::File);
        if output.status == Some(PathStatus::Folder) {
            ui.colored_label(palette.error, "This is a folder: add a file name.");
        } else if replace {
            ui.colored_label(palette.warning, "A file is there: it will be replaced.");
        }
        let target = typed.then(|| resolve(path));
        ui.horizontal_wrapped(|ui| {
            let verb = match (&name, replace) {
                (None, _) => "Import",
                (Some(_), false) => "Export",
                (Some(_), true) => "Replace",
            };
            let go = ui.add_enabled(typed, egui::Button::new(verb)).clicked()
                || (output.submitted && typed);
            if go && let Some(target) = &target {
                action = Some(match &name {
                    None => SidebarAction::Import(Some(target.clone())),
                    Some(name) => SidebarAction::Export {
                        name: name.clone(),
                        to: Some(target.clone()),
                    },
                });
            }
            if ui
                .button("Browse…")
                .on_hover_text("Choose the file in a file dialog")
                .clicked()
            {
                self.message = None;
                action = Some(match &name {
                    None => SidebarAction::Import(None),
                    Some(name) => SidebarAction::Export {
                        name: name.clone(),
                        to: None,
                    },
                });
            }
            close = ui.button("Cancel").clicked();
        });
        if close {
            self.file_row = None;
            self.message = None;
        }
        action
    }
}

/// A file name for a profile (or a tab): its name without the characters that a path
/// cannot hold.
pub fn file_name_for(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if std::path::is_separator(c) || matches!(c, '\\' | ':') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match cleaned.trim_matches('.') {
        "" => "profile".to_owned(),
        _ => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_file_names() {
        assert_eq!(file_name_for("Local echo"), "Local echo");
        assert_eq!(file_name_for("a/b\\c:d"), "a_b_c_d");
        assert_eq!(file_name_for(" .. "), "profile");
    }
}
