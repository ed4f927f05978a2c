//! The variables editor: a profile's variables (name, value, secret), the built-in
//! placeholders for reference, and what is wrong with a row.
//!
//! A secret value is shown as dots (a password field) unless "Show" is held down next to
//! it; it is kept in the profile's own file but left out of exports and masked in
//! captures.

use egui::{RichText, Ui};

use ws_inspector_core::profiles::{Profile, VariableRow};

use super::Palette;

/// The built-in placeholders, with what each expands to.
const BUILT_INS: [(&str, &str); 6] = [
    ("{{uuid}}", "a random UUID v4"),
    ("{{timestamp}}", "Unix time in ms"),
    ("{{iso_time}}", "RFC 3339 time in UTC"),
    ("{{counter}}", "1, 2, 3… per connection"),
    ("{{random_int 1 100}}", "a whole number, both ends included"),
    ("{{env.NAME}}", "the environment variable NAME"),
];

/// The width of the name fields.
const NAME_WIDTH: f32 = 90.0;

/// Shows the editor for `profile`'s variables. Returns whether a row changed.
pub fn variables_ui(ui: &mut Ui, profile: &mut Profile) -> bool {
    let palette = Palette::of(ui);
    let mut changed = false;
    let mut remove = None;
    ui.label(
        RichText::new(
            "{{name}} in the URL, header values and messages. A secret is masked here and \
             in captures, and left out of exported profiles.",
        )
        .color(palette.weak),
    );
    let (name_header, value_header) = ui
        .horizontal(|ui| {
            let name = ui.add_sized(
                [NAME_WIDTH, 18.0],
                egui::Label::new(RichText::new("Name").strong()),
            );
            let value = ui.label(RichText::new("Value").strong());
            (name.id, value.id)
        })
        .inner;
    for (i, row) in profile.variables.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            changed |= row_ui(ui, i, row, name_header, value_header);
            if ui
                .small_button("🗑")
                .on_hover_text(format!("Delete the variable “{}”", row.name.trim()))
                .clicked()
            {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        profile.variables.remove(i);
        changed = true;
    }
    if ui
        .button("Add variable")
        .on_hover_text("A new row: give it a name and a value")
        .clicked()
    {
        profile.variables.push(VariableRow::default());
        changed = true;
    }
    for problem in profile.variable_problems() {
        ui.colored_label(palette.warning, format!("⚠ {problem}"));
    }
    egui::CollapsingHeader::new("Built-in placeholders")
        .id_salt("variables-built-ins")
        .show(ui, |ui| {
            egui::Grid::new("variables-built-ins-grid")
                .num_columns(2)
                .show(ui, |ui| {
                    for (placeholder, what) in BUILT_INS {
                        ui.label(RichText::new(placeholder).monospace());
                        ui.label(RichText::new(what).color(palette.weak));
                        ui.end_row();
                    }
                });
            ui.label(
                RichText::new("\\{{ sends {{ literally.")
                    .monospace()
                    .color(palette.weak),
            );
        });
    changed
}

/// One row's fields, laid out left to right: name, value (dots for a secret, unless Show
/// is held), the secret switch.
fn row_ui(
    ui: &mut Ui,
    i: usize,
    row: &mut VariableRow,
    name_label: egui::Id,
    value_label: egui::Id,
) -> bool {
    let mut changed = false;
    changed |= ui
        .add(
            egui::TextEdit::singleline(&mut row.name)
                .id_salt(("variable-name", i))
                .hint_text("name")
                .desired_width(NAME_WIDTH),
        )
        .labelled_by(name_label)
        .changed();
    let reveal_id = ui.make_persistent_id(("variable-reveal", i));
    let revealed = ui.data(|d| d.get_temp::<bool>(reveal_id).unwrap_or(false));
    // What is left, less the secret switch, the delete button and (for a secret) Show.
    let reserved = if row.secret { 130.0 } else { 100.0 };
    changed |= ui
        .add(
            egui::TextEdit::singleline(&mut row.value)
                .id_salt(("variable-value", i))
                .password(row.secret && !revealed)
                .hint_text("value")
                .desired_width((ui.available_width() - reserved).max(60.0)),
        )
        .labelled_by(value_label)
        .changed();
    if row.secret {
        let show = ui.small_button("👁").on_hover_text("Hold to show the value");
        let held = show.is_pointer_button_down_on();
        ui.data_mut(|d| d.insert_temp(reveal_id, held));
    }
    changed |= ui
        .checkbox(&mut row.secret, "secret")
        .on_hover_text("Secret: masked here and in captures, left out of exports")
        .changed();
    changed
}
