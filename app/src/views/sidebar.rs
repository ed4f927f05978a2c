//! The profiles sidebar: the saved profiles, create / rename / duplicate / delete, import and
//! export, and the problems found while loading them (corrupt files moved aside).

use egui::{RichText, Ui};

use super::Palette;
use crate::profiles::ProfileStore;

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
    /// Import a profile file (the app opens a file dialog).
    Import,
    /// Export this profile to a file (the app opens a file dialog).
    Export(String),
}

/// The sidebar's own state.
#[derive(Debug, Default)]
pub struct Sidebar {
    /// The highlighted profile.
    pub selected: Option<String>,
    /// A rename in progress: (old name, edited name).
    renaming: Option<(String, String)>,
    /// A delete waiting for confirmation.
    confirm_delete: Option<String>,
    /// The last outcome of an action, shown at the bottom (error?, message).
    pub message: Option<(bool, String)>,
}

impl Sidebar {
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
                        ui.add(egui::Label::new(RichText::new(problem).small()).wrap());
                    }
                });
            ui.add_space(4.0);
        }

        let bottom_height = 96.0;
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
                        let response = ui.add(
                            egui::TextEdit::singleline(edited)
                                .hint_text("New name")
                                .desired_width(f32::INFINITY),
                        );
                        response.request_focus();
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
                    ui.label(RichText::new(subtitle).small().color(palette.weak));
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
                            self.renaming = Some((name.clone(), name.clone()));
                        }
                        if ui.button("Duplicate").clicked() {
                            action = Some(SidebarAction::Duplicate(name.clone()));
                        }
                        if ui.button("Export…").clicked() {
                            action = Some(SidebarAction::Export(name.clone()));
                        }
                        if ui.button("Delete").clicked() {
                            self.confirm_delete = Some(name.clone());
                        }
                    });
                }
            });

        ui.separator();
        let current = self.selected.clone();
        ui.horizontal_wrapped(|ui| {
            let enabled = current.is_some();
            if ui
                .add_enabled(enabled, egui::Button::new("Rename"))
                .clicked()
                && let Some(name) = &current
            {
                self.renaming = Some((name.clone(), name.clone()));
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
            if ui.button("Import…").clicked() {
                action = Some(SidebarAction::Import);
            }
            if ui
                .add_enabled(enabled, egui::Button::new("Export…"))
                .clicked()
                && let Some(name) = &current
            {
                action = Some(SidebarAction::Export(name.clone()));
            }
        });
        if let Some((error, message)) = &self.message {
            let colour = if *error { palette.error } else { palette.weak };
            ui.add(egui::Label::new(RichText::new(message).small().color(colour)).wrap());
        }
        ui.label(
            RichText::new(format!("Folder: {}", store.dir().display()))
                .small()
                .color(palette.weak),
        )
        .on_hover_text("Profiles are RON files in this folder");

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
}
