//! A relay tab's Intercept view: per direction, the Pause switch and the messages it holds
//! (forward, edit then forward, drop, forward all), a message to inject, the faults to
//! inject into every client's traffic, and the close and reset actions. The work is in the
//! core (`ws_inspector_core::relay::control`); this is its view.

use egui::{RichText, Ui};
use ws_inspector_core::relay::control::{
    ClientControl, Faults, Held, RelaySettings, Release, Way, describe,
};
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::CloseCode;
use ws_tokio::ws_proto::bytes::Bytes;

use super::Palette;

/// What the view keeps between frames: the held message being edited, the message to
/// inject, the close to send.
#[derive(Debug)]
pub struct InterceptView {
    /// The held message being edited (way, id) and its text as edited.
    editing: Option<(Way, u64, String, bool)>,
    /// The text to inject, each way.
    inject: [String; 2],
    /// The close code and reason to close a leg with.
    close_code: u16,
    close_reason: String,
    /// Why the last action could not be done.
    error: Option<String>,
}

impl Default for InterceptView {
    fn default() -> Self {
        Self {
            editing: None,
            inject: [String::new(), String::new()],
            close_code: 1000,
            close_reason: String::new(),
            error: None,
        }
    }
}

impl InterceptView {
    /// Shows the view for one relayed client; `settings` are the relay's (for every client).
    /// Returns whether the settings changed.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        settings: &mut RelaySettings,
        control: &ClientControl,
    ) -> bool {
        let before = settings.clone();
        let palette = Palette::of(ui);
        if let Some(error) = &self.error {
            ui.colored_label(palette.error, error);
        }
        egui::ScrollArea::vertical()
            .id_salt("intercept-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.columns(2, |columns| {
                    for (way, ui) in Way::BOTH.into_iter().zip(columns.iter_mut()) {
                        ui.push_id(way.index(), |ui| {
                            self.direction_ui(ui, way, settings, control, &palette);
                        });
                    }
                });
                ui.separator();
                self.actions_ui(ui, control);
            });
        *settings != before
    }

    fn direction_ui(
        &mut self,
        ui: &mut Ui,
        way: Way,
        settings: &mut RelaySettings,
        control: &ClientControl,
        palette: &Palette,
    ) {
        let i = way.index();
        ui.label(RichText::new(way.label()).strong());
        ui.checkbox(&mut settings.paused[i], format!("Pause {}", way.label()))
            .on_hover_text(
                "Hold this direction's text and binary messages (pings, pongs and closes pass)",
            );
        let held = control.held(way);
        ui.horizontal(|ui| {
            ui.label(format!("{} held", held.len()));
            if ui
                .add_enabled(!held.is_empty(), egui::Button::new("Forward all"))
                .clicked()
            {
                self.act(control.release(way, Release::ForwardAll));
            }
        });
        for message in held.iter().take(200) {
            self.held_row_ui(ui, way, message, control, palette);
        }
        if held.len() > 200 {
            ui.label(format!("… and {} more", held.len() - 200));
        }
        ui.horizontal(|ui| {
            let label = ui.label("Inject");
            ui.add(
                egui::TextEdit::singleline(&mut self.inject[i])
                    .hint_text("a text message")
                    .desired_width(180.0),
            )
            .labelled_by(label.id);
            let to = match way {
                Way::ToServer => "Send to server",
                Way::ToClient => "Send to client",
            };
            if ui.button(to).clicked() {
                let text = std::mem::take(&mut self.inject[i]);
                self.act(control.release(way, Release::Inject(Outgoing::Text(text))));
            }
        });
        egui::CollapsingHeader::new(format!("Faults {}", way.label()))
            .id_salt(("faults", i))
            .default_open(settings.faults[i].any())
            .show(ui, |ui| faults_ui(ui, &mut settings.faults[i]));
    }

    fn held_row_ui(
        &mut self,
        ui: &mut Ui,
        way: Way,
        message: &Held,
        control: &ClientControl,
        palette: &Palette,
    ) {
        let editing =
            matches!(&self.editing, Some((w, id, _, _)) if *w == way && *id == message.id);
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("#{}", message.id)).color(palette.weak));
            ui.label(RichText::new(preview(&message.message)).monospace());
            if ui.small_button("Forward").clicked() {
                self.act(control.release(way, Release::Forward(message.id)));
            }
            if ui.small_button("Edit").clicked() {
                let (text, hex) = match &message.message {
                    Outgoing::Text(text) => (text.clone(), false),
                    Outgoing::Binary(data) => (ws_inspector_core::hex::hex_compact(data), true),
                    other => (describe(other), false),
                };
                self.editing = Some((way, message.id, text, hex));
            }
            if ui.small_button("Drop").clicked() {
                self.act(control.release(way, Release::Drop(message.id)));
            }
        });
        if editing {
            let mut send = None;
            let mut cancel = false;
            if let Some((_, id, text, hex)) = &mut self.editing {
                ui.horizontal(|ui| {
                    let label = ui.label(if *hex { "Edit (hex)" } else { "Edit" });
                    ui.add(
                        egui::TextEdit::multiline(text)
                            .desired_rows(2)
                            .desired_width(260.0)
                            .font(egui::TextStyle::Monospace),
                    )
                    .labelled_by(label.id);
                    if ui.button("Forward edited").clicked() {
                        send = Some((*id, edited(text, *hex)));
                    }
                    if ui.button("Cancel").clicked() {
                        cancel = true;
                    }
                });
            }
            match send {
                Some((id, Ok(message))) => {
                    self.editing = None;
                    self.act(control.release(way, Release::Replace(id, message)));
                }
                Some((_, Err(e))) => self.error = Some(e),
                None if cancel => self.editing = None,
                None => {}
            }
        }
    }

    fn actions_ui(&mut self, ui: &mut Ui, control: &ClientControl) {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Actions").strong());
            let label = ui.label("Close code");
            ui.add(egui::DragValue::new(&mut self.close_code).range(1000..=4999))
                .labelled_by(label.id);
            let label = ui.label("Reason");
            ui.add(egui::TextEdit::singleline(&mut self.close_reason).desired_width(120.0))
                .labelled_by(label.id);
            for (way, text) in [
                (Way::ToClient, "Close client leg"),
                (Way::ToServer, "Close server leg"),
            ] {
                if ui.button(text).clicked() {
                    let close = Release::Close(
                        Some(CloseCode::from(self.close_code)),
                        self.close_reason.clone(),
                    );
                    self.act(control.release(way, close));
                }
            }
            if ui
                .button("Reset TCP")
                .on_hover_text(
                    "Abort the client's TCP connection with an RST (and drop the server's)",
                )
                .clicked()
            {
                self.act(control.release(Way::ToClient, Release::Reset));
            }
        });
    }

    fn act(&mut self, result: Result<(), String>) {
        self.error = result.err();
    }
}

/// One direction's faults (a relay's, or a listener's sends).
pub fn faults_ui(ui: &mut Ui, faults: &mut Faults) {
    egui::Grid::new("faults").num_columns(2).show(ui, |ui| {
        let label = ui.label("Delay");
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut faults.delay_ms)
                    .range(0..=600_000)
                    .suffix(" ms"),
            )
            .labelled_by(label.id);
            let random = ui.label("+ random up to");
            ui.add(
                egui::DragValue::new(&mut faults.delay_random_ms)
                    .range(0..=600_000)
                    .suffix(" ms"),
            )
            .labelled_by(random.id);
        });
        ui.end_row();
        let label = ui.label("Drop");
        ui.add(
            egui::DragValue::new(&mut faults.drop_percent)
                .range(0.0..=100.0)
                .speed(1.0)
                .suffix(" %"),
        )
        .labelled_by(label.id);
        ui.end_row();
        let label = ui.label("Frames");
        ui.add(
            egui::DragValue::new(&mut faults.fragments)
                .range(0..=1000)
                .custom_formatter(|n, _| match n {
                    n if n <= 1.0 => "as it came".to_owned(),
                    n => format!("{n:.0} frames"),
                }),
        )
        .labelled_by(label.id)
        .on_hover_text("Re-fragment each message into this many frames");
        ui.end_row();
        ui.label("RSV bits");
        ui.horizontal(|ui| {
            for (bit, name) in [(0b100, "RSV1"), (0b010, "RSV2"), (0b001, "RSV3")] {
                let mut on = faults.rsv_bits & bit != 0;
                if ui.checkbox(&mut on, name).changed() {
                    faults.rsv_bits ^= bit;
                }
            }
        });
        ui.end_row();
        ui.label("Payload");
        ui.checkbox(&mut faults.corrupt, "Corrupt a byte");
        ui.end_row();
        ui.label("Pings");
        ui.checkbox(&mut faults.drop_pings, "Do not forward (nobody answers)");
        ui.end_row();
        let label = ui.label("Pong delay");
        ui.add(
            egui::DragValue::new(&mut faults.pong_delay_ms)
                .range(0..=600_000)
                .suffix(" ms"),
        )
        .labelled_by(label.id);
        ui.end_row();
    });
}

/// A held message in a line.
fn preview(message: &Outgoing) -> String {
    match message {
        Outgoing::Text(text) if text.chars().count() > 60 => {
            format!("{}…", text.chars().take(60).collect::<String>())
        }
        Outgoing::Text(text) => text.clone(),
        Outgoing::Binary(data) => format!(
            "binary {} B {}",
            data.len(),
            ws_inspector_core::hex::hex_compact(&data[..data.len().min(16)])
        ),
        other => describe(other),
    }
}

/// The edited message: the text as typed, or the bytes of the hex.
fn edited(text: &str, hex: bool) -> Result<Outgoing, String> {
    match hex {
        false => Ok(Outgoing::Text(text.to_owned())),
        true => ws_inspector_core::hex::parse_hex(text)
            .map(|bytes| Outgoing::Binary(Bytes::from(bytes))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_hex_and_text() {
        assert_eq!(edited("hi", false), Ok(Outgoing::Text("hi".into())));
        assert_eq!(
            edited("01 ff", true),
            Ok(Outgoing::Binary(Bytes::from_static(&[1, 0xff])))
        );
        assert!(edited("0", true).is_err());
        assert!(edited("zz", true).is_err());
    }
}
