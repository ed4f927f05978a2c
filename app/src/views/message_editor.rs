//! The editor of one saved message: name, kind, payload (with a live preview of its
//! expansion, secrets masked), close code, send on connect, and which list keeps it.

use egui::{RichText, Ui};

use ws_inspector_core::profiles::{SavedKind, SavedMessage};
use ws_inspector_core::vars::Variables;

use super::Palette;
use super::saved::ListId;

/// A message being edited (or a new one).
#[derive(Debug)]
pub struct MessageEditor {
    /// The message edited: its list and place; `None`: a new one.
    pub from: Option<(ListId, usize)>,
    /// Where it is kept when saved.
    pub keep_in: ListId,
    /// The message as edited.
    pub draft: SavedMessage,
}

impl MessageEditor {
    /// Shows the editor; `vars` previews the payload. Returns `Some(true)` when Save is
    /// pressed, `Some(false)` for Cancel.
    pub fn ui(&mut self, ui: &mut Ui, vars: &Variables) -> Option<bool> {
        let palette = Palette::of(ui);
        let mut done = None;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(
                RichText::new(if self.from.is_some() {
                    "Edit message"
                } else {
                    "New message"
                })
                .strong(),
            );
            let draft = &mut self.draft;
            egui::Grid::new("saved-editor")
                .num_columns(2)
                .spacing([6.0, 4.0])
                .show(ui, |ui| {
                    let label = ui.label("Message name");
                    ui.add(
                        egui::TextEdit::singleline(&mut draft.name).desired_width(f32::INFINITY),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                    let label = ui.label("Message kind");
                    egui::ComboBox::from_id_salt("saved-editor-kind")
                        .selected_text(draft.kind.label())
                        .show_ui(ui, |ui| {
                            for kind in SavedKind::ALL {
                                ui.selectable_value(&mut draft.kind, kind, kind.label());
                            }
                        })
                        .response
                        .labelled_by(label.id);
                    ui.end_row();
                    if draft.kind == SavedKind::Close {
                        let label = ui.label("Close code");
                        ui.add(egui::DragValue::new(&mut draft.close_code).range(0..=4999))
                            .labelled_by(label.id);
                        ui.end_row();
                    }
                    ui.label("Keep in");
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut self.keep_in, ListId::Profile, "this profile");
                        ui.radio_value(&mut self.keep_in, ListId::Library, "the library");
                    });
                    ui.end_row();
                });
            let label = ui.label("Message payload");
            ui.add(
                egui::TextEdit::multiline(&mut draft.payload)
                    .hint_text(draft.kind.payload_hint())
                    .code_editor()
                    .desired_rows(4)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
            if self.keep_in == ListId::Profile {
                ui.checkbox(&mut draft.on_connect, "Send on connect")
                    .on_hover_text("Sent as soon as the connection is made, in list order");
            }
            match draft.preview(vars) {
                Ok(text) => {
                    let shown: String = text.chars().take(300).collect();
                    ui.add(
                        egui::Label::new(
                            RichText::new(format!("→ {}", shown.replace(['\n', '\r'], "↵")))
                                .monospace()
                                .color(palette.weak),
                        )
                        .truncate(),
                    );
                }
                Err(e) => {
                    ui.add(
                        egui::Label::new(RichText::new(format!("⚠ {e}")).color(palette.error))
                            .wrap(),
                    );
                }
            }
            ui.horizontal(|ui| {
                if ui.button("Save message").clicked() {
                    done = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    done = Some(false);
                }
            });
        });
        done
    }

    /// Saves the message into the list chosen (moving it there from the other if need
    /// be); returns whether the library changed.
    pub fn save_into(
        self,
        profile: &mut Vec<SavedMessage>,
        library: &mut Vec<SavedMessage>,
    ) -> bool {
        let mut draft = self.draft;
        if self.keep_in == ListId::Library {
            // The library has no send-on-connect list.
            draft.on_connect = false;
        }
        let mut library_changed = self.keep_in == ListId::Library;
        match self.from {
            Some((list, i)) if list == self.keep_in => {
                let target = match list {
                    ListId::Profile => profile,
                    ListId::Library => library,
                };
                match target.get_mut(i) {
                    Some(slot) => *slot = draft,
                    None => target.push(draft),
                }
            }
            Some((list, i)) => {
                // Moved to the other list.
                let source = match list {
                    ListId::Profile => &mut *profile,
                    ListId::Library => &mut *library,
                };
                if i < source.len() {
                    source.remove(i);
                }
                library_changed = true;
                match self.keep_in {
                    ListId::Profile => profile.push(draft),
                    ListId::Library => library.push(draft),
                }
            }
            None => match self.keep_in {
                ListId::Profile => profile.push(draft),
                ListId::Library => library.push(draft),
            },
        }
        library_changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[SavedMessage]) -> Vec<&str> {
        list.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn edits_land_in_the_list_chosen() {
        let mut profile = vec![SavedMessage::text("a", "1"), SavedMessage::text("b", "2")];
        let mut library = vec![SavedMessage::text("x", "9")];
        let edit = |from, keep_in, name: &str| MessageEditor {
            from,
            keep_in,
            draft: SavedMessage {
                on_connect: true,
                ..SavedMessage::text(name, "")
            },
        };
        assert!(
            !edit(Some((ListId::Profile, 1)), ListId::Profile, "B")
                .save_into(&mut profile, &mut library)
        );
        assert_eq!(names(&profile), ["a", "B"]);
        assert!(
            edit(Some((ListId::Profile, 0)), ListId::Library, "A")
                .save_into(&mut profile, &mut library)
        );
        assert_eq!(names(&profile), ["B"]);
        assert_eq!(names(&library), ["x", "A"]);
        assert!(
            !library[1].on_connect,
            "the library has no send-on-connect list"
        );
        assert!(edit(None, ListId::Library, "new").save_into(&mut profile, &mut library));
        assert_eq!(names(&library), ["x", "A", "new"]);
        assert!(!edit(None, ListId::Profile, "p").save_into(&mut profile, &mut library));
        assert_eq!(names(&profile), ["B", "p"]);
    }
}
