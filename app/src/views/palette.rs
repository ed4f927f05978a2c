//! The command palette (Ctrl+P): a search over the saved messages of the tab's profile and
//! of the library, by name and payload; Enter (or a click) sends the one chosen, ↑ and ↓
//! choose, Escape closes.
//!
//! Why Ctrl+P and not Ctrl+K: Ctrl+K already connects the active tab (the connection bar
//! and the README say so, and the tests use it); Ctrl+P is the palette of many editors.

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};

use ws_inspector_core::profiles::SavedMessage;
use ws_inspector_core::profiles::saved::search;

use super::Palette;
use super::saved::ListId;

/// The shortcut that opens the palette.
pub const OPEN_PALETTE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::P);

/// The most results listed.
const MAX_RESULTS: usize = 30;

/// The palette's state: open or not, the query, the result chosen.
#[derive(Debug, Default)]
pub struct CommandPalette {
    /// Shown.
    pub open: bool,
    /// What is searched for.
    pub query: String,
    /// The result chosen (an index into the results).
    selected: usize,
    /// Give the search field the focus on the next frame.
    focus: bool,
}

impl CommandPalette {
    /// Opens it with an empty query.
    pub fn show(&mut self) {
        self.open = true;
        self.query.clear();
        self.selected = 0;
        self.focus = true;
    }

    /// Shows the palette if open; returns the message chosen (its list and index).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        profile: &[SavedMessage],
        library: &[SavedMessage],
    ) -> Option<(ListId, usize)> {
        if !self.open {
            return None;
        }
        let palette = Palette::of(ui);
        // Profile messages first, then the library's, each ranked by the search.
        let results: Vec<(ListId, usize)> = search(profile, &self.query)
            .into_iter()
            .map(|i| (ListId::Profile, i))
            .chain(
                search(library, &self.query)
                    .into_iter()
                    .map(|i| (ListId::Library, i)),
            )
            .take(MAX_RESULTS)
            .collect();
        let message = |(list, i): (ListId, usize)| match list {
            ListId::Profile => &profile[i],
            ListId::Library => &library[i],
        };
        let (up, down, enter) = ui.input(|i| {
            (
                i.key_pressed(Key::ArrowUp),
                i.key_pressed(Key::ArrowDown),
                i.key_pressed(Key::Enter),
            )
        });
        if down {
            self.selected = (self.selected + 1).min(results.len().saturating_sub(1));
        }
        if up {
            self.selected = self.selected.saturating_sub(1);
        }
        self.selected = self.selected.min(results.len().saturating_sub(1));
        let mut chosen = None;
        let modal = egui::Modal::new(egui::Id::unique("command-palette")).show(ui.ctx(), |ui| {
            ui.set_width(460.0);
            let label = ui.label(RichText::new("Search saved messages").strong());
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.query)
                    .hint_text("name or payload — Enter sends, Esc closes")
                    .desired_width(f32::INFINITY),
            );
            let field = field.labelled_by(label.id);
            if std::mem::take(&mut self.focus) {
                field.request_focus();
            }
            if field.changed() {
                self.selected = 0;
            }
            ui.separator();
            if results.is_empty() {
                ui.label(
                    RichText::new(if profile.is_empty() && library.is_empty() {
                        "No saved messages yet: save one from the composer or the Saved tab."
                    } else {
                        "No saved message matches."
                    })
                    .color(palette.weak),
                );
            }
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .show(ui, |ui| {
                    for (n, &result) in results.iter().enumerate() {
                        let m = message(result);
                        let place = match result.0 {
                            ListId::Profile => "profile",
                            ListId::Library => "library",
                        };
                        let preview: String = m
                            .payload
                            .chars()
                            .take(60)
                            .map(|c| if c.is_control() { ' ' } else { c })
                            .collect();
                        let text = format!("{} — {} · {place}", m.title(), m.kind.label());
                        let response = ui
                            .add(
                                egui::Button::selectable(n == self.selected, text)
                                    .min_size(egui::vec2(ui.available_width(), 0.0)),
                            )
                            .on_hover_text(preview);
                        if n == self.selected && (up || down) {
                            response.scroll_to_me(None);
                        }
                        if response.clicked() {
                            chosen = Some(result);
                        }
                    }
                });
        });
        if enter && chosen.is_none() {
            chosen = results.get(self.selected).copied();
        }
        if chosen.is_some() || modal.should_close() {
            self.open = false;
        }
        chosen
    }
}
