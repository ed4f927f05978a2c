//! Binding beyond loopback lets other machines in: [`confirm_bind_ui`] asks first, and
//! [`exposed_warning_ui`] keeps a standing warning in the tab while it listens.

use egui::{RichText, Ui};

use super::Palette;

/// What the user decided about binding a non-loopback address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindChoice {
    /// Bind it anyway.
    Bind,
    /// Do not.
    Cancel,
}

/// A modal that asks before binding `addr`, which is not loopback. `None` until the user
/// answers.
pub fn confirm_bind_ui(ui: &mut Ui, addr: &str) -> Option<BindChoice> {
    let mut choice = None;
    let modal =
        egui::Modal::new(egui::Id::unique("confirm-non-loopback-bind")).show(ui.ctx(), |ui| {
            ui.set_width(380.0);
            ui.heading("Let other machines connect?");
            ui.label(format!(
                "{addr} is not a loopback address: anyone who can reach this machine on the \
             network can connect, see what is sent and send to it."
            ));
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button(format!("Listen on {addr}")).clicked() {
                    choice = Some(BindChoice::Bind);
                }
                if ui.button("Cancel").clicked() {
                    choice = Some(BindChoice::Cancel);
                }
            });
        });
    if modal.should_close() && choice.is_none() {
        choice = Some(BindChoice::Cancel);
    }
    choice
}

/// The standing warning of a tab that listens beyond loopback.
pub fn exposed_warning_ui(ui: &mut Ui, addr: &str) {
    let palette = Palette::of(ui);
    ui.colored_label(
        palette.warning,
        RichText::new(format!(
            "⚠ Listening on {addr}: reachable from other machines, not only this one"
        ))
        .strong(),
    );
}
