//! The server choices of a listener, edited in place: subprotocols to pick from, compression,
//! accept or refuse, echo, auto-pong, messages on connect.

use egui::Ui;
use serde::{Deserialize, Serialize};
use ws_inspector_core::listener::ServerChoices;
use ws_inspector_core::relay::control::Faults;

use super::intercept::faults_ui;

/// The form behind [`ServerChoices`]: text fields as typed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ChoicesForm {
    /// Subprotocols, comma separated (`*`: the client's first).
    pub protocols: String,
    /// Accept permessage-deflate.
    pub deflate: bool,
    /// Refuse upgrades.
    pub reject: bool,
    /// The refusal's status, as typed.
    pub reject_status: String,
    /// The refusal's body.
    pub reject_body: String,
    /// Echo messages back.
    pub echo: bool,
    /// Answer pings.
    pub auto_pong: bool,
    /// Messages sent on connect, one per line.
    pub on_connect: String,
    /// The token clients must carry (`?token=` or `Authorization: Bearer`); empty: none.
    pub token: String,
    /// Faults injected into what the listener sends, and into its answers to pings.
    pub faults: Faults,
}

impl Default for ChoicesForm {
    fn default() -> Self {
        let choices = ServerChoices::default();
        Self {
            protocols: String::new(),
            deflate: choices.deflate,
            reject: false,
            reject_status: "403".to_owned(),
            reject_body: "Forbidden".to_owned(),
            echo: choices.echo,
            auto_pong: choices.auto_pong,
            on_connect: String::new(),
            token: String::new(),
            faults: Faults::default(),
        }
    }
}

impl ChoicesForm {
    /// The form that says `choices` (a saved listener's).
    pub fn from_choices(choices: &ServerChoices) -> Self {
        let (reject, reject_status, reject_body) = match &choices.reject {
            Some((status, body)) => (true, status.to_string(), body.clone()),
            None => (false, "403".to_owned(), "Forbidden".to_owned()),
        };
        Self {
            protocols: choices.protocols.join(", "),
            deflate: choices.deflate,
            reject,
            reject_status,
            reject_body,
            echo: choices.echo,
            auto_pong: choices.auto_pong,
            on_connect: choices.on_connect.join("\n"),
            token: choices.token.clone().unwrap_or_default(),
            faults: choices.faults.clone(),
        }
    }

    /// The choices the form says.
    pub fn choices(&self) -> ServerChoices {
        let status = self
            .reject_status
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|s| (400..600).contains(s))
            .unwrap_or(403);
        ServerChoices {
            protocols: self
                .protocols
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            deflate: self.deflate,
            reject: self.reject.then(|| (status, self.reject_body.clone())),
            echo: self.echo,
            auto_pong: self.auto_pong,
            on_connect: self
                .on_connect
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            token: (!self.token.trim().is_empty()).then(|| self.token.trim().to_owned()),
            faults: self.faults.clone(),
            script: None,
        }
    }

    /// Shows the form; returns whether anything changed.
    pub fn ui(&mut self, ui: &mut Ui) -> bool {
        let before = self.choices();
        egui::Grid::new("server-choices")
            .num_columns(2)
            .spacing([10.0, 4.0])
            .show(ui, |ui| {
                let label = ui.label("Subprotocols");
                ui.add(
                    egui::TextEdit::singleline(&mut self.protocols)
                        .hint_text("chat, v2 (* = the client's first)")
                        .desired_width(220.0),
                )
                .labelled_by(label.id)
                .on_hover_text("Ours, in order: the first the client offers is chosen");
                ui.end_row();
                ui.label("Server");
                ui.horizontal_wrapped(|ui| {
                    ui.checkbox(&mut self.deflate, "permessage-deflate");
                    ui.checkbox(&mut self.echo, "Echo");
                    ui.checkbox(&mut self.auto_pong, "Auto-pong");
                });
                ui.end_row();
                ui.label("Upgrade");
                ui.horizontal(|ui| {
                    ui.checkbox(&mut self.reject, "Refuse with");
                    let status = ui.label("Status");
                    ui.add_enabled(
                        self.reject,
                        egui::TextEdit::singleline(&mut self.reject_status).desired_width(40.0),
                    )
                    .labelled_by(status.id);
                    let body = ui.label("Body");
                    ui.add_enabled(
                        self.reject,
                        egui::TextEdit::singleline(&mut self.reject_body).desired_width(140.0),
                    )
                    .labelled_by(body.id);
                });
                ui.end_row();
                let label = ui.label("Token");
                ui.add(
                    egui::TextEdit::singleline(&mut self.token)
                        .hint_text("none: every client is accepted")
                        .desired_width(220.0),
                )
                .labelled_by(label.id)
                .on_hover_text(
                    "Accept only upgrades with ?token=TOKEN in the URL or an Authorization: \
                     Bearer TOKEN header; others are refused with 401 (shown in the log)",
                );
                ui.end_row();
                let label = ui.label("On connect");
                ui.add(
                    egui::TextEdit::multiline(&mut self.on_connect)
                        .hint_text("messages to send, one per line")
                        .desired_rows(2)
                        .desired_width(220.0),
                )
                .labelled_by(label.id);
                ui.end_row();
            });
        egui::CollapsingHeader::new("Faults")
            .id_salt("listener-faults")
            .default_open(self.faults.any())
            .show(ui, |ui| {
                faults_ui(ui, &mut self.faults);
                ui.label(
                    "Applied to what the listener sends (echo, messages on connect, the \
                     composer); \"do not forward\" pings leaves them unanswered.",
                );
            });
        self.choices() != before
    }
}
