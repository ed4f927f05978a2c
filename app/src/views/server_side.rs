//! Pieces the listen and relay tabs share: the ws:// / wss:// choice and a client's row in
//! a tab's client list.

use std::net::SocketAddr;

use egui::{RichText, Ui};
use ws_inspector_core::SessionState;
use ws_inspector_core::listener::ListenerTls;

use super::{Palette, format_count};

/// ws://, wss:// with a certificate made at start, or wss:// with the user's files.
#[derive(Clone, Debug, Default)]
pub struct TlsChoice {
    /// Which.
    pub mode: TlsMode,
    /// The certificate chain file (PEM), for [`TlsMode::Files`].
    pub cert: String,
    /// The private key file (PEM), for [`TlsMode::Files`].
    pub key: String,
}

/// The kinds of [`TlsChoice`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain ws://.
    #[default]
    Plain,
    /// wss://, certificate made at start.
    SelfSigned,
    /// wss://, the user's certificate and key.
    Files,
}

impl TlsChoice {
    /// The choice that gives `tls` (a saved listener's or relay's).
    pub fn from_listener_tls(tls: &ListenerTls) -> Self {
        match tls {
            ListenerTls::None => Self::default(),
            ListenerTls::SelfSigned => Self {
                mode: TlsMode::SelfSigned,
                ..Self::default()
            },
            ListenerTls::Files { cert, key } => Self {
                mode: TlsMode::Files,
                cert: cert.display().to_string(),
                key: key.display().to_string(),
            },
        }
    }

    /// The listener's TLS for this choice.
    pub fn to_listener_tls(&self) -> ListenerTls {
        match self.mode {
            TlsMode::Plain => ListenerTls::None,
            TlsMode::SelfSigned => ListenerTls::SelfSigned,
            TlsMode::Files => ListenerTls::Files {
                cert: self.cert.trim().into(),
                key: self.key.trim().into(),
            },
        }
    }

    /// The certificate and key fields, when they are wanted.
    pub fn files_ui(&mut self, ui: &mut Ui) {
        if self.mode != TlsMode::Files {
            return;
        }
        ui.horizontal(|ui| {
            let label = ui.label("Certificate file");
            ui.add(egui::TextEdit::singleline(&mut self.cert).desired_width(220.0))
                .labelled_by(label.id);
            let label = ui.label("Key file");
            ui.add(egui::TextEdit::singleline(&mut self.key).desired_width(220.0))
                .labelled_by(label.id);
        });
    }
}

/// The ws:// / wss:// radio buttons.
pub fn tls_choice_ui(ui: &mut Ui, choice: &mut TlsChoice) {
    ui.radio_value(&mut choice.mode, TlsMode::Plain, "ws://");
    ui.radio_value(
        &mut choice.mode,
        TlsMode::SelfSigned,
        "wss:// (certificate made now)",
    )
    .on_hover_text("A self-signed certificate for localhost, made at start; its SHA-256 is shown");
    ui.radio_value(&mut choice.mode, TlsMode::Files, "wss:// (my files)");
}

/// One client's row: number, address, path, readyState and counts. Returns whether it was
/// clicked.
pub fn client_row_ui(
    ui: &mut Ui,
    number: usize,
    peer: SocketAddr,
    state: &SessionState,
    selected: bool,
) -> bool {
    let palette = Palette::of(ui);
    let path = state
        .handshake
        .request
        .as_ref()
        .and_then(|(r, _)| r.uri().path_and_query().map(|p| p.as_str().to_owned()))
        .unwrap_or_else(|| "…".to_owned());
    let ready = state.ready_state();
    let text = format!("#{number} {peer} {path}");
    let mut clicked = false;
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter()
            .circle_filled(rect.center(), 4.0, palette.ready_state(ready));
        clicked = ui
            .selectable_label(selected, RichText::new(text).monospace())
            .clicked();
    });
    ui.label(
        RichText::new(format!(
            "   {} · ⬇{} ⬆{}",
            ready,
            format_count(state.traffic.frames_in),
            format_count(state.traffic.frames_out)
        ))
        .small()
        .color(palette.weak),
    );
    clicked
}
